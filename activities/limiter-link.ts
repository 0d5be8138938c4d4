/**
 * A worker's line to its task queue's shared limiter (workflows/rate-limiter.ts). All calls of
 * the worker that wait for admission travel in one `exchange` Update at a time (Temporal admits
 * only a few Updates in flight per workflow); the answer hands out leases, and the next exchange
 * goes out at once while calls still wait. New calls, withdrawals and finished calls' reports go
 * at once in batched Signals, so the limiter hears of them while an exchange is held.
 * If the limiter does not accept an exchange in time, or fails twice in a row, every waiting call
 * is told to pace alone (null) and the link rests for a while before trying again.
 */
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Lease } from '../shared/rate-limits';
import {
  exchangeUpdate,
  rateLimiterWorkflowId,
  noticeSignal,
  type CallRequest,
  type NoticeBatch,
  type ExchangeResult,
  type SettleReport,
} from '../workflows/rate-limiter-definitions';

export interface LimiterLinkOptions {
  /** The limiter must accept an exchange within this long. */
  acceptTimeoutMs?: number;
  /** After the limiter failed, calls pace alone this long before the link tries again. */
  restMs?: number;
  onDown?: (err: unknown) => void;
}

interface Waiting {
  req: CallRequest;
  resolve: (lease: Lease | null) => void;
}

/** Reports kept while the limiter cannot be reached; older ones are dropped (the next answers teach it again). */
const MAX_REPORTS = 200;
/** The limiter answers an exchange within 20 s; allow for a busy server on top. */
const RESULT_TIMEOUT_MS = 80_000;

type LimiterWorkflow = (input?: object) => Promise<void>;
type Target = { client: Client; taskQueue: string };

export class LimiterLink {
  private readonly waiting = new Map<string, Waiting>();
  private reports: SettleReport[] = [];
  private adds: CallRequest[] = [];
  private withdraws: string[] = [];
  private running = false;
  private notifying = false;
  private downUntil = 0;
  private seq = 0;
  private readonly worker = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;

  constructor(private readonly opts: LimiterLinkOptions = {}) {}

  /** A lease for the call, or null when the limiter is unavailable (the caller paces alone). */
  acquire(target: Target, req: Omit<CallRequest, 'id'>, signal: AbortSignal): Promise<Lease | null> {
    if (Date.now() < this.downUntil) return Promise.resolve(null);
    const id = String(++this.seq);
    return new Promise<Lease | null>((resolve, reject) => {
      const onAbort = () => {
        // Withdrawn, so a cancelled call does not use up a lease.
        if (this.waiting.delete(id)) {
          this.withdraws.push(id);
          this.notify(target);
        }
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.adds.push({ ...req, id });
      this.notify(target);
      this.waiting.set(id, {
        req: { ...req, id },
        resolve: (lease) => {
          signal.removeEventListener('abort', onAbort);
          resolve(lease);
        },
      });
      this.kick(target);
    });
  }

  report(target: Target, report: SettleReport): void {
    if (Date.now() < this.downUntil) return;
    this.reports.push(report);
    if (this.reports.length > MAX_REPORTS) this.reports.splice(0, this.reports.length - MAX_REPORTS);
    this.notify(target);
  }

  /** Notices go out in batches: one Signal in flight at a time carries all that accumulated meanwhile. */
  private notify(target: Target): void {
    if (this.notifying) return;
    this.notifying = true;
    void (async () => {
      try {
        while (this.reports.length || this.adds.length || this.withdraws.length) {
          const batch: NoticeBatch = {
            worker: this.worker,
            add: this.adds.splice(0),
            withdraw: this.withdraws.splice(0),
            reports: this.reports.splice(0),
          };
          await target.client.workflow.signalWithStart<LimiterWorkflow, [NoticeBatch]>('rateLimiterWorkflow', {
            workflowId: rateLimiterWorkflowId(target.taskQueue),
            taskQueue: target.taskQueue,
            args: [{}],
            signal: noticeSignal,
            signalArgs: [batch],
          });
        }
      } catch {
        // Lost notices only delay: the next exchange lists every waiting call again, and the next answers teach the books.
      } finally {
        this.notifying = false;
      }
    })();
  }

  private kick(target: Target): void {
    if (this.running) return;
    this.running = true;
    void this.loop(target).finally(() => {
      this.running = false;
      // Anything that arrived while the loop was finishing.
      if (this.waiting.size && Date.now() >= this.downUntil) this.kick(target);
    });
  }

  private async loop({ client, taskQueue }: Target): Promise<void> {
    let failures = 0;
    while (this.waiting.size > 0) {
      const requests = [...this.waiting.values()].map((w) => w.req);
      try {
        const handle = await withTimeout(
          client.workflow.startUpdateWithStart(exchangeUpdate, {
            args: [{ worker: this.worker, requests }],
            waitForStage: 'ACCEPTED',
            startWorkflowOperation: new WithStartWorkflowOperation<LimiterWorkflow>('rateLimiterWorkflow', {
              workflowId: rateLimiterWorkflowId(taskQueue),
              taskQueue,
              args: [{}],
              workflowIdConflictPolicy: 'USE_EXISTING',
            }),
          }),
          this.opts.acceptTimeoutMs ?? 10_000,
        );
        const result: ExchangeResult = await withTimeout(handle.result(), RESULT_TIMEOUT_MS);
        failures = 0;
        for (const [id, lease] of Object.entries(result.leases)) {
          const w = this.waiting.get(id);
          this.waiting.delete(id);
          w?.resolve(lease);
        }
      } catch (err) {
        // One quick retry covers the limiter's continue-as-new; a second failure means it is down.
        if (++failures < 2) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        this.downUntil = Date.now() + (this.opts.restMs ?? 30_000);
        this.opts.onDown?.(err);
        this.reports = [];
        for (const w of this.waiting.values()) w.resolve(null);
        this.waiting.clear();
        return;
      }
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the rate limiter within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
