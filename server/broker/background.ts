/**
 * The backend's background loops, each a timer that backs off while it fails:
 * - the outbox flusher writes token sets the Secret Store has not taken yet (after an outage,
 *   or after a restart: any instance flushes any entry, under the connection's lock), and takes
 *   the provider's answers a crash left kept but not read;
 * - the keep-alive refreshes connections that are idle or whose refresh token nears its expiry,
 *   so idle grants survive; with several instances each due connection is claimed by one;
 * - with EVENTS_WEBHOOK_URL, the event deliverer sends recorded connection events (event-delivery.ts),
 *   woken at once by a new event, and forgets delivered ones after a week.
 */
import type { Logger } from 'pino';
import { connectionKey } from '../../src/common/connection-id';
import type { KeepAliveClaims, Outbox } from '../storage/ports';
import type { LockManager } from '../storage/locks';
import { type LockTimes, withLock } from './connection-lock';
import { isStorageUnavailable } from '../storage/errors';
import { describeError } from './errors';
import type { RefreshEngine } from './refresh-engine';
import type { TokenStore } from './token-store';
import { type DeliveryParts, deliverDue, type EventWebhook } from './event-delivery';
import { describePolicy, keepAliveAt } from './keep-alive-policy';
import type { ConnectionStates } from './connection-state';
import type { SecretStoreBudget } from './secret-store-budget';

/** How long a stop waits for a running tick (shutdown is bounded whatever the backlog). */
const STOP_WAIT_MS = 2000;

/** A loop that runs `tick` every `intervalMs`, doubling the pause (up to `maxDelayMs`) while ticks report trouble. */
class Loop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private busy = false;
  private stopped = false;
  private delayMs: number;

  constructor(
    private readonly tick: () => Promise<boolean>,
    private readonly intervalMs: number,
    private readonly maxDelayMs: number,
  ) {
    this.delayMs = intervalMs;
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.busy = true;
      this.running = this.tick().then(
        (ok) => {
          this.busy = false;
          this.delayMs = ok ? this.intervalMs : Math.min(this.maxDelayMs, this.delayMs * 2);
          this.schedule(this.delayMs);
        },
        () => {
          this.busy = false;
          this.schedule((this.delayMs = Math.min(this.maxDelayMs, this.delayMs * 2)));
        },
      );
    }, delay);
    this.timer.unref();
  }

  /** Runs the next tick now, unless one is running (it will see the news) or the loop is backing off. */
  wake(): void {
    if (this.busy || this.stopped || this.delayMs > this.intervalMs) return;
    clearTimeout(this.timer);
    this.schedule(0);
  }

  get stopping(): boolean {
    return this.stopped;
  }

  /** Waits for a running tick, at most `STOP_WAIT_MS`: whatever it leaves stays in the database for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.race([this.running, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
  }
}

export interface BackgroundOptions {
  lock: LockTimes;
  flushIntervalMs: number;
  /** 0 turns idle keep-alive off (refresh tokens near expiry are still kept alive). */
  keepAliveIdleSeconds: number;
  keepAliveIntervalMs: number;
  now: () => number;
}

/** Keep-alive claims this many due connections at a time and refreshes this many side by side, all paced by the budget. */
const KEEP_ALIVE_BATCH = 50;
const KEEP_ALIVE_PARALLEL = 4;

export interface BackgroundParts {
  outbox: Outbox;
  keepAlive: KeepAliveClaims;
  tokens: TokenStore;
  engine: RefreshEngine;
  states: ConnectionStates;
  locks: LockManager;
  budget: SecretStoreBudget;
  logger: Logger;
  /** Present when events are delivered. */
  events?: DeliveryParts & { webhook: EventWebhook };
}

/** Delivered events are kept this long (for `connections events` and redelivery), then forgotten. */
const DELIVERED_KEPT_SECONDS = 7 * 86_400;
const EVENT_POLL_MS = 1000;

export interface Background {
  stop(): Promise<void>;
  /** A new event was recorded: deliver it without waiting for the next poll. */
  eventRecorded(): void;
}

export function startBackground(parts: BackgroundParts, options: BackgroundOptions): Background {
  const { outbox, tokens, engine, locks, logger } = parts;
  // Clean-up spends only what callers, refreshes and keep-alive leave of the Secret Store budget.
  const flusher = new Loop(() => parts.budget.run('cleanup', async () => {
    let ok = true;
    // Token sets only this process holds first: without the database nobody else can hold their locks.
    for (const connection of tokens.heldInMemory()) {
      if (flusher.stopping) return ok;
      const result = await withLock(locks, connection, { ...options.lock, waitMs: 200 }, () => tokens.flush(connection)).catch((err: unknown) =>
        isStorageUnavailable(err) ? tokens.flush(connection) : 'pending');
      if (result === 'pending') ok = false;
    }
    for (const connection of await outbox.connections()) {
      if (flusher.stopping) return ok;
      // A short wait: a busy connection's holder flushes it itself.
      const result = await withLock(locks, connection, { ...options.lock, waitMs: 200 }, () => tokens.flush(connection)).catch(() => 'pending');
      if (result === 'pending') ok = false;
    }
    for (const connection of await outbox.answered()) {
      if (flusher.stopping) return ok;
      await engine.recover(connection, { ...options.lock, waitMs: 200 }).catch(() => (ok = false));
    }
    return ok;
  }), options.flushIntervalMs, 30_000);

  // No quota per tick: it claims what is due, a batch at a time, and spends what the budget
  // leaves (keep-alive waits behind callers and on-demand refreshes).
  const policy = { idleSeconds: options.keepAliveIdleSeconds };
  let policyInForce = false;
  const keepAlive = new Loop(async () => {
    if (!policyInForce) {
      await parts.keepAlive.usePolicy(describePolicy(policy));
      policyInForce = true;
    }
    let ok = true;
    for (let full = true; full && !keepAlive.stopping; ) {
      const claimed = await parts.keepAlive.claimDue(options.now(), KEEP_ALIVE_BATCH, Math.ceil(options.lock.leaseMs / 1000));
      full = claimed.length === KEEP_ALIVE_BATCH;
      const queue = [...claimed];
      await Promise.all(Array.from({ length: KEEP_ALIVE_PARALLEL }, async () => {
        for (let record = queue.shift(); record && !keepAlive.stopping; record = queue.shift()) {
          const connection = record;
          const due = (last: number | null, expires: number | null) => (keepAliveAt(connection, last, expires, policy) ?? Infinity) <= options.now();
          // A record older than its due time column learns it first, from the registry alone.
          const done = await (record.keepAliveAt === null && !due(record.lastRefreshAt, record.refreshExpiresAt)
            ? parts.states.update(connection, {}).then(() => true, () => false)
            : engine.keepAlive(connection, due).then(() => true, (err: unknown) => {
              logger.warn({ connection: connectionKey(connection), err: describeError(err) }, 'keep-alive refresh failed');
              return false;
            }));
          // Its due time is stored again: the claim ends, or the next refresh would wait for the
          // claim to lapse as well. A failed one keeps its claim to its end, the pause before a retry.
          if (done) await parts.keepAlive.release(connection).catch(() => (ok = false));
          else ok = false;
        }
      }));
    }
    return ok;
  }, options.keepAliveIntervalMs, 10 * options.keepAliveIntervalMs);

  const loops = [flusher, keepAlive];
  let deliverer: Loop | undefined;
  if (parts.events) {
    const events = parts.events;
    let purgedAt = 0;
    // Each event has its own retry time; the loop itself backs off only when the database fails.
    deliverer = new Loop(async () => {
      while ((await deliverDue(events, events.webhook)) === 'more' && !deliverer?.stopping);
      const now = events.now();
      if (now - purgedAt > 3600) {
        await events.events.purgeDelivered(now - DELIVERED_KEPT_SECONDS);
        purgedAt = now;
      }
      return true;
    }, EVENT_POLL_MS, 30_000);
    loops.push(deliverer);
  }
  for (const loop of loops) loop.start();
  return {
    stop: async () => void (await Promise.all(loops.map((loop) => loop.stop()))),
    eventRecorded: () => deliverer?.wake(),
  };
}
