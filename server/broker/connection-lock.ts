/** Work on one connection under its lock, renewed while the work runs. */
import { connectionKey, type ConnectionId } from '../../src/common/connection-id';
import { type Lease, type LockManager, LockTimeoutError } from '../storage/locks';
import { busy } from './errors';

export interface LockTimes {
  leaseMs: number;
  waitMs: number;
}

/**
 * Runs `fn` holding the connection's lock, renewing its lease every third of it; `busy` when it
 * cannot be had in time. Renewals keep the lease alive, but only a confirmation right before a
 * refresh token leaves (ConnectionRecords.markIntent) proves it is still held.
 */
export async function withLock<T>(locks: LockManager, connection: ConnectionId, times: LockTimes, fn: (lease: Lease) => Promise<T>): Promise<T> {
  let lease: Lease;
  try {
    lease = await locks.acquire(connectionKey(connection), times.leaseMs, times.waitMs);
  } catch (err) {
    if (!(err instanceof LockTimeoutError)) throw err;
    throw busy();
  }
  const renewal = setInterval(() => void lease.renew(times.leaseMs).catch(() => undefined), times.leaseMs / 3);
  renewal.unref();
  try {
    return await fn(lease);
  } finally {
    clearInterval(renewal);
    await lease.release().catch(() => undefined);
  }
}
