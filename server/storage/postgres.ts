/**
 * The broker's storage in PostgreSQL (`DATABASE_URL`), for any number of backend instances.
 * Migrations run at start-up, serialized by an advisory lock; keep-alive claims use
 * `FOR UPDATE SKIP LOCKED`, so each due connection goes to exactly one instance. Locks
 * (postgres-locks.ts) and change notices (postgres-notices.ts) are their own classes.
 */
import { Pool } from 'pg';
import { unixNow } from '../../src/shared/clock';
import { type ConnectionId, fromWire, toWire, type WireIds } from '../../src/shared/connection-id';
import type { Lease } from './locks';
import { PostgresLocks } from './postgres-locks';
import { filterSql } from './record-filter';
import { PostgresNotices } from './postgres-notices';
import type {
  ConnectionRecord,
  ConnectionRecords,
  ConnectionState,
  DueCriteria,
  KeepAliveClaims,
  OnceOnly,
  Outbox,
  OutboxEntry,
  RecordFilter,
  RequestCounts,
  RequestWindow,
  Storage,
  WebhookEvents,
} from './ports';

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS broker_connections (
    account_id text NOT NULL, user_id text NOT NULL, mode text NOT NULL,
    status text NOT NULL, access_expires_at bigint, refresh_expires_at bigint, last_refresh_at bigint,
    failures integer NOT NULL DEFAULT 0, outcome_unknown_at bigint, reason text, claimed_until bigint,
    updated_at bigint NOT NULL, PRIMARY KEY (account_id, user_id, mode))`,
  'CREATE TABLE IF NOT EXISTS broker_webhook_events (id text PRIMARY KEY, received_at bigint NOT NULL)',
  `CREATE TABLE IF NOT EXISTS broker_outbox (
    account_id text NOT NULL, user_id text NOT NULL, mode text NOT NULL,
    generation bigint NOT NULL, sealed text NOT NULL,
    PRIMARY KEY (account_id, user_id, mode))`,
  'CREATE TABLE IF NOT EXISTS broker_locks (key text PRIMARY KEY, owner text NOT NULL, expires_at timestamptz NOT NULL)',
  // Earlier versions kept one idempotency key per outbox entry; writes now take a new one per flush.
  'ALTER TABLE broker_outbox DROP COLUMN IF EXISTS write_id',
  'CREATE TABLE IF NOT EXISTS broker_once_only (key text PRIMARY KEY, expires_at bigint NOT NULL)',
  'CREATE INDEX IF NOT EXISTS broker_once_only_expiry ON broker_once_only (expires_at)',
  'CREATE TABLE IF NOT EXISTS broker_request_windows (key text PRIMARY KEY, window_start bigint NOT NULL, count integer NOT NULL)',
];

/** Expired once-only claims are swept every so many claims (by each instance). */
const PURGE_EVERY = 1000;

const KEY = 'account_id = $1 AND user_id = $2 AND mode = $3';
/** The key columns; an account-wide connection's user_id is '' (toWire). */
const columns = ({ account_id, user_id, mode }: WireIds) => [account_id, user_id, mode];
const key = (c: ConnectionId) => columns(toWire(c));
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

const recordOf = (row: Record<string, unknown> & WireIds): ConnectionRecord => ({
  ...fromWire(row),
  status: row.status as ConnectionRecord['status'],
  accessExpiresAt: num(row.access_expires_at),
  refreshExpiresAt: num(row.refresh_expires_at),
  lastRefreshAt: num(row.last_refresh_at),
  failures: Number(row.failures),
  outcomeUnknownAt: num(row.outcome_unknown_at),
  reason: row.reason as ConnectionRecord['reason'],
  updatedAt: Number(row.updated_at),
});

class PostgresRecords implements ConnectionRecords {
  constructor(private readonly pool: Pool) {}

  async get(c: ConnectionId): Promise<ConnectionRecord | undefined> {
    const { rows } = await this.pool.query(`SELECT * FROM broker_connections WHERE ${KEY}`, key(c));
    return rows[0] && recordOf(rows[0]);
  }

  async list(filter: RecordFilter): Promise<ConnectionRecord[]> {
    const { where, values } = filterSql(filter, (n) => `$${n}`);
    const { rows } = await this.pool.query(`SELECT * FROM broker_connections ${where} ORDER BY account_id, user_id, mode LIMIT ${Math.min(filter.limit ?? 100, 1000)}`, values);
    return rows.map(recordOf);
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

  async markIntent(c: ConnectionId, at: number, lease: Lease, leaseMs: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `WITH held AS (
         UPDATE broker_locks SET expires_at = now() + $6 * interval '1 millisecond'
         WHERE key = $4 AND owner = $5 AND expires_at > now() RETURNING 1)
       INSERT INTO broker_connections (account_id, user_id, mode, status, outcome_unknown_at, updated_at)
         SELECT $1, $2, $3, 'connected', $7, $8 FROM held
       ON CONFLICT (account_id, user_id, mode) DO UPDATE SET
         outcome_unknown_at = COALESCE(broker_connections.outcome_unknown_at, EXCLUDED.outcome_unknown_at), updated_at = EXCLUDED.updated_at`,
      [...key(c), lease.key, lease.owner, leaseMs, at, unixNow()],
    );
    return rowCount === 1;
  }

  async remove(c: ConnectionId): Promise<void> {
    await this.pool.query(`DELETE FROM broker_connections WHERE ${KEY}`, key(c));
  }

}

class PostgresOutbox implements Outbox {
  constructor(private readonly pool: Pool) {}

  async put(c: ConnectionId, e: OutboxEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO broker_outbox (account_id, user_id, mode, generation, sealed) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (account_id, user_id, mode) DO UPDATE SET generation = EXCLUDED.generation,
         sealed = EXCLUDED.sealed WHERE EXCLUDED.generation > broker_outbox.generation`,
      [...key(c), e.generation, e.sealed],
    );
  }

  async get(c: ConnectionId): Promise<OutboxEntry | undefined> {
    const { rows } = await this.pool.query(`SELECT generation, sealed FROM broker_outbox WHERE ${KEY}`, key(c));
    return rows[0] && { generation: Number(rows[0].generation), sealed: rows[0].sealed };
  }

  async delete(c: ConnectionId, generation: number): Promise<void> {
    await this.pool.query(`DELETE FROM broker_outbox WHERE ${KEY} AND generation <= $4`, [...key(c), generation]);
  }

  async connections(): Promise<ConnectionId[]> {
    return (await this.pool.query<WireIds>('SELECT account_id, user_id, mode FROM broker_outbox')).rows.map(fromWire);
  }
}

class PostgresWebhookEvents implements WebhookEvents {
  constructor(private readonly pool: Pool) {}

  async seen(eventId: string): Promise<boolean> {
    return (await this.pool.query('SELECT 1 FROM broker_webhook_events WHERE id = $1', [eventId])).rowCount === 1;
  }

  async record(eventId: string): Promise<void> {
    await this.pool.query('INSERT INTO broker_webhook_events (id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [eventId, unixNow()]);
  }
}

class PostgresOnceOnly implements OnceOnly {
  private claims = 0;

  constructor(private readonly pool: Pool) {}

  async claim(key: string, expiresAt: number): Promise<boolean> {
    if (++this.claims % PURGE_EVERY === 0) await this.pool.query('DELETE FROM broker_once_only WHERE expires_at <= extract(epoch from now())');
    const { rowCount } = await this.pool.query(
      `INSERT INTO broker_once_only (key, expires_at) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE broker_once_only.expires_at <= extract(epoch from now())`,
      [key, expiresAt],
    );
    return rowCount === 1;
  }
}

/** Fixed windows by the database's clock, every window of a request counted in one statement. */
class PostgresRequestCounts implements RequestCounts {
  constructor(private readonly pool: Pool) {}

  async take(windows: RequestWindow[]): Promise<number> {
    const { rows } = await this.pool.query<{ key: string; count: number; window_start: string; now_ms: string }>(
      `INSERT INTO broker_request_windows (key, window_start, count)
         SELECT k, floor(extract(epoch from clock_timestamp()) * 1000 / w) * w, 1 FROM unnest($1::text[], $2::bigint[]) AS t(k, w)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN broker_request_windows.window_start = EXCLUDED.window_start THEN broker_request_windows.count + 1 ELSE 1 END,
         window_start = EXCLUDED.window_start
       RETURNING key, count, window_start, floor(extract(epoch from clock_timestamp()) * 1000) AS now_ms`,
      [windows.map((w) => w.key), windows.map((w) => w.windowMs)],
    );
    let retryAfterMs = 0;
    for (const row of rows) {
      const window = windows.find((w) => w.key === row.key)!;
      if (row.count > window.max) retryAfterMs = Math.max(retryAfterMs, Number(row.window_start) + window.windowMs - Number(row.now_ms));
    }
    return retryAfterMs > 0 ? Math.max(1, Math.ceil(retryAfterMs / 1000)) : 0;
  }
}

class PostgresKeepAliveClaims implements KeepAliveClaims {
  constructor(private readonly pool: Pool) {}

  async claimDue(due: DueCriteria, limit: number, claimSeconds: number): Promise<ConnectionId[]> {
    const { rows } = await this.pool.query<WireIds>(
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
    return rows.map(fromWire);
  }
}

async function migrate(pool: Pool): Promise<void> {
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
}

export async function connectPostgresStorage(databaseUrl: string, poolSize = 10): Promise<Storage> {
  // A frozen or unreachable server fails a call within seconds instead of holding it forever.
  const pool = new Pool({ connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: 5000, query_timeout: 10_000 });
  // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  const notices = new PostgresNotices(pool, databaseUrl);
  return {
    records: new PostgresRecords(pool),
    outbox: new PostgresOutbox(pool),
    webhookEvents: new PostgresWebhookEvents(pool),
    keepAlive: new PostgresKeepAliveClaims(pool),
    notices,
    locks: new PostgresLocks(pool),
    onceOnly: new PostgresOnceOnly(pool),
    requestCounts: new PostgresRequestCounts(pool),
    databaseTime: async () => Number((await pool.query<{ ms: string }>('SELECT floor(extract(epoch from clock_timestamp()) * 1000) AS ms')).rows[0].ms),
    close: async () => {
      await notices.close();
      await pool.end();
    },
  };
}
