/**
 * A worker's identity, as the server records it on every task the worker takes: Temporal's usual
 * `pid@host`, plus the process's PID namespace and start time. With them, a worker starting on the
 * same machine can prove that the worker which took a call is gone (worker/reclaim.ts). Without the
 * namespace it could not tell a dead process from one in a sibling container that shares the host
 * name (host networking); without the start time, an earlier process that had its PID from another
 * worker of its own process.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export interface WorkerIdentity {
  pid: number;
  host: string;
  /** The inode of /proc/self/ns/pid; '0' where there is no /proc (one namespace per host). */
  pidNamespace: string;
  /** When the process started, ms since the epoch. */
  started: number;
}

const IDENTITY = /^(\d+)@(.+) pidns:(\d+) started:(\d+)$/;

export function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}

export function thisWorker(): WorkerIdentity {
  return {
    pid: process.pid,
    host: hostname(),
    pidNamespace: pidNamespace(),
    started: Math.round(performance.timeOrigin),
  };
}

export function formatIdentity(w: WorkerIdentity): string {
  return `${w.pid}@${w.host} pidns:${w.pidNamespace} started:${w.started}`;
}

/** null for identities renga did not write (other SDKs, older renga workers, `temporal` CLI). */
export function parseIdentity(identity: string): WorkerIdentity | null {
  const m = IDENTITY.exec(identity);
  return m ? { pid: Number(m[1]), host: m[2]!, pidNamespace: m[3]!, started: Number(m[4]) } : null;
}

/**
 * True only when `self` can prove the process behind `identity` has ended: same host and PID
 * namespace, and either the PID is `self`'s own with another start time (an earlier process that had
 * it) or it names no running process. Anything else (another host, another container, a worker of
 * this very process, a PID now reused by something else) is not provably gone.
 */
export function isProvablyGone(identity: string, self: WorkerIdentity): boolean {
  const w = parseIdentity(identity);
  if (!w || w.host !== self.host || w.pidNamespace !== self.pidNamespace) return false;
  if (w.pid === self.pid) return w.started !== self.started;
  return !isRunning(w.pid);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, it is someone else's.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    // A killed process its parent has not reaped yet still answers signal 0: a zombie has ended.
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}
