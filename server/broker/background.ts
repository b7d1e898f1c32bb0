/**
 * The backend's two background loops, each a timer that backs off while it fails:
 * - the outbox flusher writes token sets the Secret Store has not taken yet (after an outage,
 *   or after a restart: any instance flushes any entry, under the connection's lock);
 * - the keep-alive refreshes connections that are idle or whose refresh token nears its expiry,
 *   so idle grants survive; with several instances each due connection is claimed by one.
 */
import type { Logger } from 'pino';
import { connectionKey } from '../../src/shared/connection-id';
import { type DueCriteria, isKeepAliveDue, type KeepAliveClaims, type Outbox } from '../storage/ports';
import type { LockManager } from '../storage/locks';
import { type LockTimes, withLock } from './connection-lock';
import { isStorageUnavailable } from '../storage/errors';
import { describeError } from './errors';
import type { RefreshEngine } from './refresh-engine';
import type { TokenStore } from './token-store';

/** A loop that runs `tick` every `intervalMs`, doubling the pause (up to `maxDelayMs`) while ticks report trouble. */
class Loop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
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
      this.running = this.tick().then(
        (ok) => {
          this.delayMs = ok ? this.intervalMs : Math.min(this.maxDelayMs, this.delayMs * 2);
          this.schedule(this.delayMs);
        },
        () => this.schedule((this.delayMs = Math.min(this.maxDelayMs, this.delayMs * 2))),
      );
    }, delay);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
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

/** Refresh tokens with less than half their lifetime left, and at most a day, are refreshed ahead. */
const EXPIRY_MARGIN_SECONDS = 86_400;

export interface BackgroundParts {
  outbox: Outbox;
  keepAlive: KeepAliveClaims;
  tokens: TokenStore;
  engine: RefreshEngine;
  locks: LockManager;
  logger: Logger;
}

export function startBackground(parts: BackgroundParts, options: BackgroundOptions): { stop(): Promise<void> } {
  const { outbox, tokens, engine, locks, logger } = parts;
  const flusher = new Loop(async () => {
    let ok = true;
    // Token sets only this process holds first: without the database nobody else can hold their locks.
    for (const connection of tokens.heldInMemory()) {
      const result = await withLock(locks, connection, { ...options.lock, waitMs: 200 }, () => tokens.flush(connection)).catch((err: unknown) =>
        isStorageUnavailable(err) ? tokens.flush(connection) : 'pending');
      if (result === 'pending') ok = false;
    }
    for (const connection of await outbox.connections()) {
      // A short wait: a busy connection's holder flushes it itself.
      const result = await withLock(locks, connection, { ...options.lock, waitMs: 200 }, () => tokens.flush(connection)).catch(() => 'pending');
      if (result === 'pending') ok = false;
    }
    return ok;
  }, options.flushIntervalMs, 30_000);

  const keepAlive = new Loop(async () => {
    const now = options.now();
    const due: DueCriteria = {
      now,
      expiryMarginSeconds: EXPIRY_MARGIN_SECONDS,
      idleBefore: options.keepAliveIdleSeconds > 0 ? now - options.keepAliveIdleSeconds : null,
    };
    let ok = true;
    for (const connection of await parts.keepAlive.claimDue(due, 20, Math.ceil(options.lock.leaseMs / 1000))) {
      await engine.keepAlive(connection, (last, expires) => isKeepAliveDue({ ...due, now: options.now() }, last, expires)).catch((err: unknown) => {
        ok = false;
        logger.warn({ connection: connectionKey(connection), err: describeError(err) }, 'keep-alive refresh failed');
      });
    }
    return ok;
  }, options.keepAliveIntervalMs, 10 * options.keepAliveIntervalMs);

  flusher.start();
  keepAlive.start();
  return { stop: async () => void (await Promise.all([flusher.stop(), keepAlive.stop()])) };
}
