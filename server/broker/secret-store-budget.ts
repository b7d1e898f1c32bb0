/**
 * The Secret Store's request budget (SECRET_STORE_REQUESTS_PER_SECOND per mode, that is per
 * Stripe key), so the backend stays within Stripe's rate limit instead of flooding it with 429s.
 * Every Secret Store request waits for a token of the shared bucket (storage's RequestBudget:
 * this process with SQLite, the fleet with PostgreSQL), and waiters are served in priority
 * order: a caller's read first, then an on-demand refresh, then keep-alive, then clean-up (the
 * outbox flusher, reseal) — the priority of the work that makes the request, set with `run`.
 * Among equals the connections take turns, so no one connection can take the others' share.
 * A 429 halves the fleet's rate (storage decides how it grows back) and the status shows the
 * store as throttled for a while. With PostgreSQL, tokens are claimed a few at a time and
 * spent within half a second, so no instance sits on the fleet's budget.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { StripeMode } from '../../src/common/connection-id';
import type { RequestBudget } from '../storage/ports';
import { BrokerError, secretStoreBusy } from './errors';

export type Priority = 'serve' | 'refresh' | 'keepalive' | 'cleanup';

const RANK: Record<Priority, number> = { serve: 0, refresh: 1, keepalive: 2, cleanup: 3 };

/** A 429 within this long shows as throttled. */
const THROTTLED_FOR_MS = 30_000;
/** Claimed tokens not spent within this long go back (are dropped: the bucket refills). */
const CLAIM_LIFETIME_MS = 500;

interface Waiter {
  rank: number;
  /** Its connection's turn: one after that connection's previous waiter, never before the one served last. */
  turn: number;
  connection: string;
  resolve(): void;
  reject(err: unknown): void;
}

class ModeBudget {
  private readonly waiters: Waiter[] = [];
  private local = 0;
  private localUntil = 0;
  private claiming = false;
  private timer?: NodeJS.Timeout;
  /** Each connection's waiting requests, and the turn of its last one. */
  private readonly turns = new Map<string, { waiting: number; last: number }>();
  /** The turn of the request served last. */
  private served = 0;
  private closed?: unknown;
  rate: number;
  throttledAt = 0;

  constructor(
    private readonly store: RequestBudget,
    private readonly key: string,
    readonly limit: number,
  ) {
    this.rate = limit;
  }

  get queued(): number {
    return this.waiters.length;
  }

  acquire(priority: Priority, waitMs: number | undefined, connection: string): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise<void>((resolve, reject) => {
      const mine = this.turns.get(connection) ?? { waiting: 0, last: -Infinity };
      const turn = Math.max(this.served, mine.last + 1);
      this.turns.set(connection, { waiting: mine.waiting + 1, last: turn });
      const waiter: Waiter = { rank: RANK[priority], turn, connection, resolve, reject };
      // A lower rank goes before any higher one; among equals by turn, and first come, first served within a turn.
      const at = this.waiters.findIndex((w) => w.rank > waiter.rank || (w.rank === waiter.rank && w.turn > waiter.turn));
      this.waiters.splice(at === -1 ? this.waiters.length : at, 0, waiter);
      if (waitMs !== undefined) {
        const timer = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i === -1) return;
          this.waiters.splice(i, 1);
          this.left(waiter);
          reject(secretStoreBusy(Math.max(1, Math.ceil(this.waiters.length / Math.max(1, this.rate)))));
        }, waitMs);
        timer.unref();
        const settle = waiter.resolve;
        waiter.resolve = () => {
          clearTimeout(timer);
          settle();
        };
      }
      this.pump();
    });
  }

  /** Hands out local tokens in order, claiming more from the bucket while anyone waits. */
  private pump(): void {
    if (Date.now() > this.localUntil) this.local = 0;
    while (this.local >= 1 && this.waiters.length > 0) {
      this.local--;
      const waiter = this.waiters.shift()!;
      this.served = waiter.turn;
      this.left(waiter);
      waiter.resolve();
    }
    if (this.waiters.length === 0 || this.claiming || this.timer) return;
    this.claiming = true;
    const wanted = Math.max(1, Math.min(this.waiters.length, Math.ceil(this.rate / 10)));
    this.store.take(this.key, wanted, this.limit).then(
      ({ granted, rate }) => {
        this.claiming = false;
        this.rate = rate;
        this.local += granted;
        this.localUntil = Date.now() + CLAIM_LIFETIME_MS;
        if (granted === 0) this.retryIn(Math.max(10, 1000 / Math.max(1, rate)));
        else this.pump();
      },
      () => {
        // Without the bucket (its database down) requests go unpaced: the store's own answers decide.
        this.claiming = false;
        this.turns.clear();
        for (const waiter of this.waiters.splice(0)) waiter.resolve();
      },
    );
  }

  /** The waiter is out of the queue: its connection has one fewer waiting. */
  private left(waiter: Waiter): void {
    const mine = this.turns.get(waiter.connection);
    if (mine && --mine.waiting === 0) this.turns.delete(waiter.connection);
  }

  private retryIn(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, ms);
    this.timer.unref();
  }

  throttled(): void {
    this.throttledAt = Date.now();
    this.local = 0;
    void this.store.throttled(this.key).catch(() => undefined);
  }

  close(err: unknown): void {
    this.closed = err;
    clearTimeout(this.timer);
    this.turns.clear();
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }
}

export class SecretStoreBudget {
  private readonly priority = new AsyncLocalStorage<Priority>();
  private readonly modes: Partial<Record<StripeMode, ModeBudget>> = {};

  constructor(
    store: RequestBudget,
    perSecond: Record<StripeMode, number>,
    /** How long a caller's read waits before 503 `secret_store_busy` (background work waits on). */
    private readonly callerWaitMs: number,
  ) {
    for (const mode of ['test', 'live'] as const) this.modes[mode] = new ModeBudget(store, `secret_store:${mode}`, perSecond[mode]);
  }

  /** Runs `fn` with its Secret Store requests at `priority`. */
  run<T>(priority: Priority, fn: () => T): T {
    return this.priority.run(priority, fn);
  }

  /** Waits for one request's token, in `connection`'s turn; a caller's read gives up after the caller's wait. */
  acquire(mode: StripeMode, connection: string): Promise<void> {
    const priority = this.priority.getStore() ?? 'refresh';
    return this.modes[mode]!.acquire(priority, priority === 'serve' ? this.callerWaitMs : undefined, connection);
  }

  throttled(mode: StripeMode): void {
    this.modes[mode]!.throttled();
  }

  /** The store answered this instance 429 lately. */
  isThrottled(mode: StripeMode): boolean {
    const budget = this.modes[mode]!;
    return Date.now() - budget.throttledAt < THROTTLED_FOR_MS;
  }

  /** Requests are waiting for the budget: a still-valid token is better served now than after them. */
  isBusy(mode: StripeMode): boolean {
    return this.modes[mode]!.queued > 0;
  }

  /** The rate in force (requests a second), for keep-alive's share and the metrics. */
  rate(mode: StripeMode): number {
    return this.modes[mode]!.rate;
  }

  close(): void {
    for (const budget of Object.values(this.modes)) budget.close(new BrokerError('secret_store_busy', 'The backend is stopping.', 1));
  }
}
