/**
 * Every default of the broker, in one place: the configuration (server/config.ts) reads the
 * environment over these, and tests override them where they need other times.
 */
import { getHeapStatistics } from 'node:v8';
import type { LockTimes } from './connection-lock';
import type { RetryPolicy } from './retry';

/** A signed route's limit: requests per window for one connection, and for all of an account's. */
export interface RouteLimit {
  perConnection: number;
  perAccount: number;
  windowMs: number;
}

const MB = 1024 * 1024;

/** DEFAULTS.cacheBytes for a heap limit (below). */
export function cacheShare(heapLimit: number): number {
  const young = (Number(process.versions.v8.split('.')[0]) >= 13 ? 192 : 48) * MB;
  return Math.floor(Math.max(0, (heapLimit - young) / 8));
}

export const DEFAULTS = {
  refreshMarginSeconds: 300,
  defaultAccessLifetimeSeconds: 3600,
  providerTimeoutSeconds: 30,
  providerRetry: { attempts: 3, baseDelayMs: 300 } satisfies RetryPolicy,
  /** The connection lock's lease beyond the provider's attempts: room to keep the last answer (lockTimes). */
  lockLeaseMarginSeconds: 2,
  refreshWaitSeconds: 10,
  keepAliveIdleSeconds: 86_400,
  keepAliveIntervalMs: 5_000,
  outboxFlushIntervalMs: 1000,
  /**
   * Warm access tokens' share of the heap: an eighth of the old generation, where the cache lives
   * (V8's limit less the young generation, which the limit counts too: 48 MB up to Node 22 and
   * 192 MB from Node 24, V8 13; measured with --max-old-space-size=64, where the limit is 112 and
   * 256 MB). At --max-old-space-size=64 the cache gets 8 MB of the 64 on either (12.8 MB
   * ran Node 24 out of memory once: its own code and state take more of the old generation). The
   * rest holds the code (about 17 MB), what else grows with connections (without PostgreSQL their
   * request-count windows, about 470 bytes each in a busy minute), requests in flight, and the
   * collector's headroom; a quarter of the limit ran out of memory there with 50,000 connections
   * (test/server/access-cache-memory.test.ts). A 4 GB heap caches 512 MB.
   */
  cacheBytes: cacheShare(getHeapStatistics().heap_size_limit),
  /** Requests per minute on each signed route: generous where a view reads, tight where tokens change. */
  limits: {
    token: { perConnection: 120, perAccount: 2400, windowMs: 60_000 },
    status: { perConnection: 60, perAccount: 1200, windowMs: 60_000 },
    exchange: { perConnection: 10, perAccount: 100, windowMs: 60_000 },
    register: { perConnection: 10, perAccount: 100, windowMs: 60_000 },
    disconnect: { perConnection: 10, perAccount: 100, windowMs: 60_000 },
    proxy: { perConnection: 120, perAccount: 2400, windowMs: 60_000 },
    credentials: { perConnection: 10, perAccount: 100, windowMs: 60_000 },
  } satisfies Record<string, RouteLimit>,
  requestTimeoutSeconds: 30,
  /**
   * A Stripe event's handling holds it this long: long beyond any handler's run, and what a
   * crashed one delays is well within Stripe's three days of retries.
   */
  webhookLeaseSeconds: 600,
  /** The provider's API through the broker. */
  api: { maxRequestBytes: 256 * 1024, maxResponseBytes: 5 * 1024 * 1024, timeoutSeconds: 30 },
  /** Connection events to EVENTS_WEBHOOK_URL: each POST's timeout, and how long an event is retried. */
  events: { timeoutSeconds: 10, retryHours: 24 },
  /** The Secret Store's request budget per mode, below Stripe's limits (25/s in test mode and sandboxes, 100/s live). */
  secretStoreRequestsPerSecond: { test: 20, live: 80 },
  /** On SIGTERM, how long refreshes under way may take to commit what the provider answered. */
  shutdownSettleMs: 3000,
  /** `connections reseal`: connections re-sealed per second (each a Secret Store read and write), and per page of the admin API. */
  resealPerSecond: 5,
  resealPageSize: 20,
};

/** Keep-alive's pause between rounds: 5 s, or half the idle time when that is shorter (a demo's few seconds). */
export function keepAliveIntervalMs(idleSeconds: number): number {
  return idleSeconds > 0 ? Math.min(DEFAULTS.keepAliveIntervalMs, idleSeconds * 500) : DEFAULTS.keepAliveIntervalMs;
}

/**
 * The connection lock's lease outlasts every attempt at the provider, by a margin to keep the last
 * answer in (and is renewed while a refresh runs); a waiter gives up a little after a holder would have.
 */
export function lockTimes(providerTimeoutSeconds: number, attempts = DEFAULTS.providerRetry.attempts, marginSeconds = DEFAULTS.lockLeaseMarginSeconds): LockTimes {
  const leaseMs = Math.round((providerTimeoutSeconds * attempts + marginSeconds) * 1000);
  return { leaseMs, waitMs: leaseMs + 3000 };
}
