/**
 * Every default of the broker, in one place: the configuration (server/config.ts) reads the
 * environment over these, and tests override them where they need other times.
 */
import type { LockTimes } from './connection-lock';
import type { RetryPolicy } from './retry';

export const DEFAULTS = {
  refreshMarginSeconds: 300,
  defaultAccessLifetimeSeconds: 3600,
  providerTimeoutSeconds: 30,
  providerRetry: { attempts: 3, baseDelayMs: 300 } satisfies RetryPolicy,
  refreshWaitSeconds: 10,
  keepAliveIdleSeconds: 86_400,
  keepAliveIntervalMs: 60_000,
  outboxFlushIntervalMs: 1000,
  cacheEntries: 10_000,
  exchangeLimit: { max: 10, windowMs: 60_000 },
  requestTimeoutSeconds: 30,
};

/**
 * The connection lock's lease outlasts every attempt at the provider (and is renewed while a
 * refresh runs); a waiter gives up a little after a holder would have.
 */
export function lockTimes(providerTimeoutSeconds: number, attempts = DEFAULTS.providerRetry.attempts): LockTimes {
  const leaseMs = (providerTimeoutSeconds * attempts + 2) * 1000;
  return { leaseMs, waitMs: leaseMs + 3000 };
}
