/**
 * Starts a process and waits until it prints a ready line (on stdout or stderr), or fails with
 * everything it printed if it exits first. Used by the test stack and the benchmark to start
 * worker processes; waiting on the line, not on a delay, keeps both correct on a busy machine.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface ReadyProcess {
  child: ChildProcess;
  /** Everything it has printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Sends `signal` unless it has already exited, and resolves once it has. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** The process exited before it printed its ready line. */
export class ProcessNotReadyError extends Error {
  override readonly name = 'ProcessNotReadyError';
  constructor(
    readonly what: string,
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`${what} exited with ${code} before it was ready:\n${output}`);
  }
}

export async function spawnUntilReady(
  command: string,
  args: string[],
  opts: Omit<SpawnOptions, 'stdio'> & { ready: string; what: string },
): Promise<ReadyProcess> {
  const { ready, what, ...spawnOpts } = opts;
  const child = spawn(command, args, { ...spawnOpts, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(ready)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new ProcessNotReadyError(what, code, out)));
  });
  return {
    child,
    output: () => out,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
