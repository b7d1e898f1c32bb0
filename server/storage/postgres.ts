/**
 * The registry and the connection locks in PostgreSQL (`DATABASE_URL`), for any number of
 * backend instances. Migrations run at start-up, serialized by an advisory lock. Locks are
 * rows with an owner token and a lease measured by the database's clock, so instances with
 * skewed clocks still agree; keep-alive claims use `FOR UPDATE SKIP LOCKED`, so each due
 * connection goes to exactly one instance.
 */
import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { type ConnectionId, connectionKey } from '../../src/shared/connection-id';
import type { StripeMode } from '../../src/shared/redirect-uri';
import { type Lease, type LockManager, LockTimeoutError } from './locks';
import type { ConnectionRecord, ConnectionRegistry, ConnectionState, DueCriteria, OutboxEntry } from './ports';

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS broker_connections (
    account_id text NOT NULL, user_id text NOT NULL, mode text NOT NULL,
    status text NOT NULL, access_expires_at bigint, refresh_expires_at bigint, last_refresh_at bigint,
    failures integer NOT NULL DEFAULT 0, outcome_unknown_at bigint, reason text, claimed_until bigint,
    updated_at bigint NOT NULL, PRIMARY KEY (account_id, user_id, mode))`,
  'CREATE TABLE IF NOT EXISTS broker_webhook_events (id text PRIMARY KEY, received_at bigint NOT NULL)',
  `CREATE TABLE IF NOT EXISTS broker_outbox (
    account_id text NOT NULL, user_id text NOT NULL, mode text NOT NULL,
    generation bigint NOT NULL, write_id text NOT NULL, sealed text NOT NULL,
    PRIMARY KEY (account_id, user_id, mode))`,
  'CREATE TABLE IF NOT EXISTS broker_locks (key text PRIMARY KEY, owner text NOT NULL, expires_at timestamptz NOT NULL)',
];

const KEY = 'account_id = $1 AND user_id = $2 AND mode = $3';
const key = (c: ConnectionId) => [c.accountId, c.userId, c.mode];
const unixNow = () => Math.floor(Date.now() / 1000);
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const idOf = (row: { account_id: string; user_id: string; mode: StripeMode }): ConnectionId => ({ accountId: row.account_id, userId: row.user_id, mode: row.mode });

const CHANNEL = 'broker_tokens';

export class PostgresRegistry implements ConnectionRegistry, LockManager {
  private listener?: Client;
  private closed = false;

  private constructor(
    private readonly pool: Pool,
    private readonly databaseUrl: string,
  ) {}

  static async connect(databaseUrl: string, poolSize = 10): Promise<PostgresRegistry> {
    const pool = new Pool({ connectionString: databaseUrl, max: poolSize });
    // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('oauth-broker-migrations'))");
      for (const sql of MIGRATIONS) await client.query(sql);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    return new PostgresRegistry(pool, databaseUrl);
  }

  async get(c: ConnectionId): Promise<ConnectionRecord | undefined> {
    const { rows } = await this.pool.query(`SELECT * FROM broker_connections WHERE ${KEY}`, key(c));
    const row = rows[0];
    return row && {
      ...idOf(row),
      status: row.status,
      accessExpiresAt: num(row.access_expires_at),
      refreshExpiresAt: num(row.refresh_expires_at),
      lastRefreshAt: num(row.last_refresh_at),
      failures: row.failures,
      outcomeUnknownAt: num(row.outcome_unknown_at),
      reason: row.reason,
      updatedAt: Number(row.updated_at),
    };
  }

  async put(c: ConnectionId, s: ConnectionState): Promise<void> {
    await this.pool.query(
      `INSERT INTO broker_connections (account_id, user_id, mode, status, access_expires_at, refresh_expires_at,
         last_refresh_at, failures, outcome_unknown_at, reason, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (account_id, user_id, mode) DO UPDATE SET status = EXCLUDED.status,
         access_expires_at = EXCLUDED.access_expires_at, refresh_expires_at = EXCLUDED.refresh_expires_at,
         last_refresh_at = EXCLUDED.last_refresh_at, failures = EXCLUDED.failures,
         outcome_unknown_at = EXCLUDED.outcome_unknown_at, reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at`,
      [...key(c), s.status, s.accessExpiresAt, s.refreshExpiresAt, s.lastRefreshAt, s.failures, s.outcomeUnknownAt, s.reason, unixNow()],
    );
  }

  async remove(c: ConnectionId): Promise<void> {
    await this.pool.query(`DELETE FROM broker_connections WHERE ${KEY}`, key(c));
  }

  async listAccount(accountId: string, mode: StripeMode): Promise<ConnectionId[]> {
    const { rows } = await this.pool.query('SELECT account_id, user_id, mode FROM broker_connections WHERE account_id = $1 AND mode = $2', [accountId, mode]);
    return rows.map(idOf);
  }

  async seenEvent(eventId: string): Promise<boolean> {
    return (await this.pool.query('SELECT 1 FROM broker_webhook_events WHERE id = $1', [eventId])).rowCount === 1;
  }

  async recordEvent(eventId: string): Promise<void> {
    await this.pool.query('INSERT INTO broker_webhook_events (id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [eventId, unixNow()]);
  }

  async putOutbox(c: ConnectionId, e: OutboxEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO broker_outbox (account_id, user_id, mode, generation, write_id, sealed) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account_id, user_id, mode) DO UPDATE SET generation = EXCLUDED.generation, write_id = EXCLUDED.write_id,
         sealed = EXCLUDED.sealed WHERE EXCLUDED.generation > broker_outbox.generation`,
      [...key(c), e.generation, e.writeId, e.sealed],
    );
  }

  async getOutbox(c: ConnectionId): Promise<OutboxEntry | undefined> {
    const { rows } = await this.pool.query(`SELECT generation, write_id, sealed FROM broker_outbox WHERE ${KEY}`, key(c));
    return rows[0] && { generation: Number(rows[0].generation), writeId: rows[0].write_id, sealed: rows[0].sealed };
  }

  async deleteOutbox(c: ConnectionId, generation: number): Promise<void> {
    await this.pool.query(`DELETE FROM broker_outbox WHERE ${KEY} AND generation <= $4`, [...key(c), generation]);
  }

  async outboxConnections(): Promise<ConnectionId[]> {
    return (await this.pool.query('SELECT account_id, user_id, mode FROM broker_outbox')).rows.map(idOf);
  }

  async claimDue(due: DueCriteria, limit: number, claimSeconds: number): Promise<ConnectionId[]> {
    const { rows } = await this.pool.query(
      `UPDATE broker_connections c SET claimed_until = $1 + $5 FROM (
         SELECT account_id, user_id, mode FROM broker_connections
         WHERE status = 'connected' AND (claimed_until IS NULL OR claimed_until < $1)
           AND ((refresh_expires_at - $1 < LEAST($2, (refresh_expires_at - last_refresh_at) / 2.0))
             OR ($3::bigint IS NOT NULL AND last_refresh_at < $3::bigint))
         ORDER BY last_refresh_at LIMIT $4 FOR UPDATE SKIP LOCKED) d
       WHERE c.account_id = d.account_id AND c.user_id = d.user_id AND c.mode = d.mode
       RETURNING c.account_id, c.user_id, c.mode`,
      [due.now, due.expiryMarginSeconds, due.idleBefore, limit, claimSeconds],
    );
    return rows.map(idOf);
  }

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
          owner,
          renew: async (ms) =>
            (await this.pool.query(`UPDATE broker_locks SET expires_at = now() + $3 * interval '1 millisecond' WHERE key = $1 AND owner = $2`, [lockKey, owner, ms])).rowCount === 1,
          release: async () => void (await this.pool.query('DELETE FROM broker_locks WHERE key = $1 AND owner = $2', [lockKey, owner])),
        };
      }
      if (Date.now() >= deadline) throw new LockTimeoutError(lockKey);
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause * (0.5 + Math.random()), Math.max(1, deadline - Date.now()))));
    }
  }

  async announceChange(c: ConnectionId): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, connectionKey(c)]);
  }

  /** LISTEN on a connection of its own; when it breaks, notices may have been missed: the listener hears "everything", then it reconnects. */
  onChange(listener: (connectionKey?: string) => void): void {
    const listen = async () => {
      if (this.closed) return;
      const client = new Client({ connectionString: this.databaseUrl });
      const retry = () => {
        if (this.listener !== client) return;
        this.listener = undefined;
        listener();
        client.end().catch(() => undefined);
        setTimeout(() => void listen(), 1000).unref();
      };
      this.listener = client;
      client.on('notification', (message) => listener(message.payload));
      client.on('error', retry);
      client.on('end', retry);
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
      } catch {
        retry();
      }
    };
    void listen();
  }

  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }
}
