/**
 * Work on one connection under its lock, renewed while the work runs, and the write fence that
 * lock gives every Secret Store write made under it (secret-store.ts asks `writeFence`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { connectionKey, type ConnectionId } from '../../src/common/connection-id';
import { isStorageUnavailable } from '../storage/errors';
import { type Lease, type LockManager, LockTimeoutError } from '../storage/locks';
import { BrokerError, busy } from './errors';

export interface LockTimes {
  leaseMs: number;
  waitMs: number;
}

/** A write was about to leave after its lease lapsed (or was taken): it was not sent. The caller sees 503 `busy`. */
export class LeaseLapsedError extends BrokerError {
  constructor() {
    super('busy', busy().message);
  }
}

/**
 * The right to write while holding a lock. Before each Secret Store attempt the lease is renewed,
 * and the attempt leaves only when the lease, as last confirmed by this process's clock, outlasts
 * the attempt's timeout (half a lease). So a holder paused, or cut off from the database, past its
 * lease sends no write after another holder may have written a newer generation; its tokens stay
 * in the outbox, where the newest generation wins. A request already on the wire when the lease
 * lapses cannot be called back (the Secret Store has no conditional write): the timeout bounds it.
 */
export class WriteFence {
  private confirmedUntil: number;
  private lapsed = false;
  readonly attemptMs: number;

  constructor(
    readonly connection: string,
    private readonly lease: Lease,
    private readonly leaseMs: number,
    acquiredAt: number,
  ) {
    this.confirmedUntil = acquiredAt + leaseMs;
    this.attemptMs = Math.floor(leaseMs / 2);
  }

  /** The lease was renewed at `askedAt` (by this fence or the lock's own renewal). */
  renewed(askedAt: number): void {
    this.confirmedUntil = Math.max(this.confirmedUntil, askedAt + this.leaseMs);
  }

  /** True when one more attempt of `attemptMs` may leave; a lapsed lease is never held again. */
  async confirm(): Promise<boolean> {
    if (this.lapsed) return false;
    const askedAt = Date.now();
    try {
      if (await this.lease.renew(this.leaseMs)) this.renewed(askedAt);
      else this.lapsed = true;
    } catch (err) {
      // The database is out of reach: the lease as last confirmed decides.
      if (!isStorageUnavailable(err)) throw err;
    }
    return !this.lapsed && Date.now() + this.attemptMs < this.confirmedUntil;
  }
}

const fences = new AsyncLocalStorage<WriteFence>();

/** The fence of the lock held around the current work, when it is this connection's. */
export function writeFence(connection: ConnectionId): WriteFence | undefined {
  const fence = fences.getStore();
  return fence?.connection === connectionKey(connection) ? fence : undefined;
}

/**
 * Runs `fn` holding the connection's lock, renewing its lease every third of it; `busy` when it
 * cannot be had in time. Renewals keep the lease alive, but only a confirmation right before a
 * refresh token leaves (ConnectionRecords.markIntent), or a write (WriteFence), proves it is still held.
 */
export async function withLock<T>(locks: LockManager, connection: ConnectionId, times: LockTimes, fn: (lease: Lease) => Promise<T>): Promise<T> {
  let lease: Lease;
  const asked = Date.now();
  try {
    lease = await locks.acquire(connectionKey(connection), times.leaseMs, times.waitMs);
  } catch (err) {
    if (!(err instanceof LockTimeoutError)) throw err;
    throw busy();
  }
  const fence = new WriteFence(connectionKey(connection), lease, times.leaseMs, asked);
  const renewal = setInterval(() => {
    const renewing = Date.now();
    void lease.renew(times.leaseMs).then((held) => held && fence.renewed(renewing), () => undefined);
  }, times.leaseMs / 3);
  renewal.unref();
  try {
    return await fences.run(fence, () => fn(lease));
  } finally {
    clearInterval(renewal);
    await lease.release().catch(() => undefined);
  }
}
