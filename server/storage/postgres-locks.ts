/**
 * Connection locks in PostgreSQL: a row per held lock with an owner token and a lease measured by
 * the database's clock, so instances with skewed clocks still agree on who holds it.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { type Lease, type LockManager, LockTimeoutError } from './locks';

export class PostgresLocks implements LockManager {
  constructor(private readonly pool: Pool) {}

  async acquire(lockKey: string, leaseMs: number, waitMs: number): Promise<Lease> {
    const owner = randomUUID();
    const deadline = Date.now() + waitMs;
    for (let pause = 10; ; pause = Math.min(200, pause * 2)) {
      const { rowCount } = await this.pool.query(
        `INSERT INTO broker_locks (key, owner, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
         WHERE broker_locks.expires_at < now()`,
        [lockKey, owner, leaseMs],
      );
      if (rowCount === 1) {
        return {
          key: lockKey,
          owner,
          renew: async (ms) =>
            (await this.pool.query(
              `UPDATE broker_locks SET expires_at = now() + $3 * interval '1 millisecond' WHERE key = $1 AND owner = $2 AND expires_at > now()`,
              [lockKey, owner, ms],
            )).rowCount === 1,
          release: async () => void (await this.pool.query('DELETE FROM broker_locks WHERE key = $1 AND owner = $2', [lockKey, owner])),
        };
      }
      if (Date.now() >= deadline) throw new LockTimeoutError(lockKey);
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause * (0.5 + Math.random()), Math.max(1, deadline - Date.now()))));
    }
  }
}
