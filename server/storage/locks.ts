/**
 * Per-connection locks held with an owner token and a lease: only one refresh of a refresh
 * token at a time, even across instances (postgres-locks.ts has the shared implementation).
 * The lease frees a lock whose holder died; the owner token keeps a late holder from freeing a
 * lock that someone else now holds.
 */
import { randomUUID } from 'node:crypto';

export interface Lease {
  readonly key: string;
  readonly owner: string;
  /** Extends the lease; false when it lapsed or the lock is no longer this holder's (a lapsed lease is never revived). */
  renew(leaseMs: number): Promise<boolean>;
  release(): Promise<void>;
}

export interface LockManager {
  /** Waits up to `waitMs` for the lock; the lease lapses after `leaseMs` unless renewed. */
  acquire(key: string, leaseMs: number, waitMs: number): Promise<Lease>;
}

export class LockTimeoutError extends Error {
  constructor(key: string) {
    super(`Timed out waiting for the lock of ${key}`);
  }
}

/** One process: a map of held locks; waiters are woken on release or poll until the lease lapses. */
export class InProcessLocks implements LockManager {
  private readonly held = new Map<string, { owner: string; until: number; wake: Array<() => void> }>();

  async acquire(key: string, leaseMs: number, waitMs: number): Promise<Lease> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const current = this.held.get(key);
      if (!current || current.until <= Date.now()) {
        const owner = randomUUID();
        this.held.set(key, { owner, until: Date.now() + leaseMs, wake: current?.wake ?? [] });
        return { key, owner, renew: async (ms) => this.renew(key, owner, ms), release: async () => this.release(key, owner) };
      }
      const remaining = Math.min(deadline, current.until) - Date.now();
      if (Date.now() >= deadline) throw new LockTimeoutError(key);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, remaining));
        current.wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private renew(key: string, owner: string, leaseMs: number): boolean {
    const current = this.held.get(key);
    if (current?.owner !== owner || current.until <= Date.now()) return false;
    current.until = Date.now() + leaseMs;
    return true;
  }

  private release(key: string, owner: string): void {
    const current = this.held.get(key);
    if (current?.owner !== owner) return;
    this.held.delete(key);
    for (const wake of current.wake) wake();
  }
}
