/**
 * The broker's storage in PostgreSQL (`DATABASE_URL`), for any number of backend instances.
 * Migrations run at start-up when the schema lacks one, serialized by an advisory lock; keep-alive claims use
 * `FOR UPDATE SKIP LOCKED`, so each due connection goes to exactly one instance. Locks
 * (postgres-locks.ts), change notices (postgres-notices.ts) and request counts
 * (postgres-request-counts.ts) are their own classes.
 */
import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import { unixNow } from '../../src/common/clock';
import type { ConnectionEvent } from '../../src/common/connection-event';
import { type ConnectionId, fromColumns, type KeyColumns, toColumns } from '../../src/common/connection-id';
import type { Lease } from './locks';
import { BUDGET_MIGRATION, PostgresBudget } from './postgres-budget';
import { PostgresLocks } from './postgres-locks';
import { EVENT_STATE_SQL, type EventRow, PENDING_EVENT, storedEventOf } from './event-rows';
import { filterSql, SUMMARY_SQL, summaryOf } from './record-filter';
import { PostgresNotices } from './postgres-notices';
import { PostgresRequestCounts, REQUEST_COUNT_MIGRATIONS } from './postgres-request-counts';
import type {
  ConnectionEvents,
  ConnectionRecord,
  ConnectionRecords,
  ConnectionState,
  EventClaim,
  EventState,
  KeepAliveClaims,
  OnceOnly,
  Outbox,
  OutboxEntry,
  RecordFilter,
  RecordSummary,
  Storage,
  StoredEvent,
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
  ...REQUEST_COUNT_MIGRATIONS,
  'ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS sealed_with text',
  'ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS keep_alive_at bigint',
  'ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS subject text',
  'ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS generation bigint',
  'CREATE TABLE IF NOT EXISTS broker_settings (name text PRIMARY KEY, value text NOT NULL)',
  "CREATE INDEX IF NOT EXISTS broker_connections_keep_alive ON broker_connections (keep_alive_at) WHERE status = 'connected'",
  `CREATE TABLE IF NOT EXISTS broker_events (
    seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE,
    account_id text NOT NULL, user_id text NOT NULL, mode text NOT NULL, created bigint NOT NULL, payload text NOT NULL,
    attempts integer NOT NULL DEFAULT 0, next_attempt_at bigint NOT NULL, claimed_until bigint,
    delivered_at bigint, failed_at bigint, last_error text)`,
  BUDGET_MIGRATION,
  // A webhook event's row without a lease owner was handled (as every row before leases was).
  'ALTER TABLE broker_webhook_events ADD COLUMN IF NOT EXISTS lease_owner text',
  'ALTER TABLE broker_webhook_events ADD COLUMN IF NOT EXISTS lease_until bigint',
  `CREATE TABLE IF NOT EXISTS broker_outbox_answers (
    account_id text NOT NULL, user_id text NOT NULL, mode text NOT NULL,
    generation bigint NOT NULL, sealed text NOT NULL,
    PRIMARY KEY (account_id, user_id, mode))`,
  // Tables keyed by connection gain the provider ('' for the one unnamed provider every row before had).
  ...['broker_connections', 'broker_outbox', 'broker_outbox_answers', 'broker_events'].map((table) => `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS provider text NOT NULL DEFAULT ''`),
  ...['broker_connections', 'broker_outbox', 'broker_outbox_answers'].map((table) => `DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                   WHERE i.indrelid = '${table}'::regclass AND i.indisprimary AND a.attname = 'provider') THEN
      ALTER TABLE ${table} DROP CONSTRAINT ${table}_pkey, ADD PRIMARY KEY (account_id, user_id, mode, provider);
    END IF;
  END $$`),
  'DROP INDEX IF EXISTS broker_events_pending',
  'CREATE INDEX IF NOT EXISTS broker_events_pending_by_provider ON broker_events (account_id, user_id, mode, provider, seq) WHERE delivered_at IS NULL AND failed_at IS NULL',
];

/** The event of a state change, written by the same statement (a CTE) as the change. */
const EVENT_CTE = `event AS (
  INSERT INTO broker_events (id, account_id, user_id, mode, provider, created, payload, next_attempt_at)
  SELECT e.id, $1, $2, $3, $4, e.created, e.payload, e.created FROM (VALUES ($EVENT_ID::text, $EVENT_CREATED::bigint, $EVENT_PAYLOAD::text)) AS e(id, created, payload)
  WHERE e.id IS NOT NULL)`;

/** The statement with its event CTE, the event's three values numbered after the statement's own. */
function withEvent(sql: string, values: unknown[], event: ConnectionEvent | undefined): [string, unknown[]] {
  const n = values.length;
  const cte = EVENT_CTE.replace('$EVENT_ID', `$${n + 1}`).replace('$EVENT_CREATED', `$${n + 2}`).replace('$EVENT_PAYLOAD', `$${n + 3}`);
  return [`WITH ${cte} ${sql}`, [...values, event?.id ?? null, event?.created ?? null, event ? JSON.stringify(event) : null]];
}

/** Expired once-only claims are swept every so many claims (by each instance). */
const PURGE_EVERY = 1000;

const KEY = 'account_id = $1 AND user_id = $2 AND mode = $3 AND provider = $4';
/** The key columns; an account-wide connection's user_id and the unnamed provider are '' (toColumns). */
const columns = ({ account_id, user_id, mode, provider }: KeyColumns) => [account_id, user_id, mode, provider];
const key = (c: ConnectionId) => columns(toColumns(c));
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

const recordOf = (row: Record<string, unknown> & KeyColumns): ConnectionRecord => ({
  ...fromColumns(row),
  status: row.status as ConnectionRecord['status'],
  accessExpiresAt: num(row.access_expires_at),
  refreshExpiresAt: num(row.refresh_expires_at),
  lastRefreshAt: num(row.last_refresh_at),
  failures: Number(row.failures),
  outcomeUnknownAt: num(row.outcome_unknown_at),
  reason: row.reason as ConnectionRecord['reason'],
  sealedWith: (row.sealed_with as string | null) ?? null,
  keepAliveAt: num(row.keep_alive_at),
  subject: (row.subject as string | null) ?? null,
  generation: num(row.generation),
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
    const { rows } = await this.pool.query(`SELECT * FROM broker_connections ${where} ORDER BY account_id, user_id, mode, provider LIMIT ${Math.min(filter.limit ?? 100, 1000)}`, values);
    return rows.map(recordOf);
  }

  async summary(): Promise<RecordSummary> {
    return summaryOf((await this.pool.query(SUMMARY_SQL('broker_connections'))).rows);
  }

  async put(c: ConnectionId, s: ConnectionState, event?: ConnectionEvent): Promise<void> {
    await this.pool.query(...withEvent(
      `INSERT INTO broker_connections (account_id, user_id, mode, provider, status, access_expires_at, refresh_expires_at,
         last_refresh_at, failures, outcome_unknown_at, reason, sealed_with, keep_alive_at, subject, generation, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       ON CONFLICT (account_id, user_id, mode, provider) DO UPDATE SET status = EXCLUDED.status,
         access_expires_at = EXCLUDED.access_expires_at, refresh_expires_at = EXCLUDED.refresh_expires_at,
         last_refresh_at = EXCLUDED.last_refresh_at, failures = EXCLUDED.failures,
         outcome_unknown_at = EXCLUDED.outcome_unknown_at, reason = EXCLUDED.reason, sealed_with = EXCLUDED.sealed_with,
         keep_alive_at = EXCLUDED.keep_alive_at, subject = EXCLUDED.subject, generation = EXCLUDED.generation, updated_at = EXCLUDED.updated_at`,
      [...key(c), s.status, s.accessExpiresAt, s.refreshExpiresAt, s.lastRefreshAt, s.failures, s.outcomeUnknownAt, s.reason, s.sealedWith, s.keepAliveAt, s.subject, s.generation, unixNow()],
      event,
    ));
  }

  async markIntent(c: ConnectionId, at: number, lease: Lease, leaseMs: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `WITH held AS (
         UPDATE broker_locks SET expires_at = now() + $7 * interval '1 millisecond'
         WHERE key = $5 AND owner = $6 AND expires_at > now() RETURNING 1)
       INSERT INTO broker_connections (account_id, user_id, mode, provider, status, outcome_unknown_at, updated_at)
         SELECT $1, $2, $3, $4, 'connected', $8, $9 FROM held
       ON CONFLICT (account_id, user_id, mode, provider) DO UPDATE SET
         outcome_unknown_at = COALESCE(broker_connections.outcome_unknown_at, EXCLUDED.outcome_unknown_at), updated_at = EXCLUDED.updated_at`,
      [...key(c), lease.key, lease.owner, leaseMs, at, unixNow()],
    );
    return rowCount === 1;
  }

  async remove(c: ConnectionId, event?: ConnectionEvent): Promise<void> {
    await this.pool.query(...withEvent(`DELETE FROM broker_connections WHERE ${KEY}`, key(c), event));
  }
}

class PostgresEvents implements ConnectionEvents {
  constructor(private readonly pool: Pool) {}

  /** Each instance claims what no other holds (`FOR UPDATE SKIP LOCKED`), the oldest pending event of a connection only. */
  async claimDue(now: number, limit: number, claimSeconds: number): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `UPDATE broker_events c SET claimed_until = $1 + $3 FROM (
         SELECT e.id FROM broker_events e WHERE ${PENDING_EVENT.replace(/(delivered_at|failed_at)/g, 'e.$1')}
           AND e.next_attempt_at <= $1 AND (e.claimed_until IS NULL OR e.claimed_until < $1)
           AND NOT EXISTS (SELECT 1 FROM broker_events p WHERE p.account_id = e.account_id AND p.user_id = e.user_id AND p.mode = e.mode AND p.provider = e.provider
             AND p.seq < e.seq AND p.delivered_at IS NULL AND p.failed_at IS NULL)
         ORDER BY e.seq LIMIT $2 FOR UPDATE SKIP LOCKED) d
       WHERE c.id = d.id RETURNING c.*`,
      [now, limit, claimSeconds],
    );
    return rows.map(storedEventOf);
  }

  async delivered(id: string, at: number): Promise<void> {
    await this.pool.query('UPDATE broker_events SET delivered_at = $2, attempts = attempts + 1, claimed_until = NULL WHERE id = $1', [id, at]);
  }

  async retryLater(id: string, nextAttemptAt: number, error: string): Promise<void> {
    await this.pool.query('UPDATE broker_events SET next_attempt_at = $2, attempts = attempts + 1, last_error = $3, claimed_until = NULL WHERE id = $1', [id, nextAttemptAt, error]);
  }

  async failed(id: string, at: number, error: string): Promise<void> {
    await this.pool.query('UPDATE broker_events SET failed_at = $2, attempts = attempts + 1, last_error = $3, claimed_until = NULL WHERE id = $1', [id, at, error]);
  }

  async list(state: EventState, limit: number): Promise<StoredEvent[]> {
    return (await this.pool.query<EventRow>(`SELECT * FROM broker_events WHERE ${EVENT_STATE_SQL[state]} ORDER BY seq LIMIT $1`, [limit])).rows.map(storedEventOf);
  }

  async redeliver(which: string[] | 'failed', now: number): Promise<number> {
    const reset = 'UPDATE broker_events SET failed_at = NULL, delivered_at = NULL, next_attempt_at = $1, claimed_until = NULL';
    const { rowCount } = which === 'failed'
      ? await this.pool.query(`${reset} WHERE failed_at IS NOT NULL`, [now])
      : await this.pool.query(`${reset} WHERE id = ANY($2::text[])`, [now, which]);
    return rowCount ?? 0;
  }

  async summary(): Promise<{ pending: number; failed: number; oldestPending: number | null }> {
    const { rows } = await this.pool.query(`SELECT count(*) FILTER (WHERE ${PENDING_EVENT}) AS pending, count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
      min(created) FILTER (WHERE ${PENDING_EVENT}) AS oldest FROM broker_events`);
    return { pending: Number(rows[0].pending), failed: Number(rows[0].failed), oldestPending: num(rows[0].oldest) };
  }

  async purgeDelivered(before: number): Promise<void> {
    await this.pool.query('DELETE FROM broker_events WHERE delivered_at IS NOT NULL AND delivered_at < $1', [before]);
  }
}

class PostgresOutbox implements Outbox {
  constructor(private readonly pool: Pool) {}

  async put(c: ConnectionId, e: OutboxEntry): Promise<void> {
    await this.pool.query(
      `WITH taken AS (DELETE FROM broker_outbox_answers WHERE ${KEY} AND generation <= $5)
       INSERT INTO broker_outbox (account_id, user_id, mode, provider, generation, sealed) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account_id, user_id, mode, provider) DO UPDATE SET generation = EXCLUDED.generation,
         sealed = EXCLUDED.sealed WHERE EXCLUDED.generation > broker_outbox.generation`,
      [...key(c), e.generation, e.sealed],
    );
  }

  async get(c: ConnectionId): Promise<OutboxEntry | undefined> {
    return entryOf((await this.pool.query(`SELECT generation, sealed FROM broker_outbox WHERE ${KEY}`, key(c))).rows[0]);
  }

  async delete(c: ConnectionId, generation: number): Promise<void> {
    await this.pool.query(
      `WITH answer AS (DELETE FROM broker_outbox_answers WHERE ${KEY} AND generation <= $5)
       DELETE FROM broker_outbox WHERE ${KEY} AND generation <= $5`,
      [...key(c), generation],
    );
  }

  async connections(): Promise<ConnectionId[]> {
    return (await this.pool.query<KeyColumns>('SELECT account_id, user_id, mode, provider FROM broker_outbox')).rows.map(fromColumns);
  }

  async keepAnswer(c: ConnectionId, a: OutboxEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO broker_outbox_answers (account_id, user_id, mode, provider, generation, sealed) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account_id, user_id, mode, provider) DO UPDATE SET generation = EXCLUDED.generation,
         sealed = EXCLUDED.sealed WHERE EXCLUDED.generation >= broker_outbox_answers.generation`,
      [...key(c), a.generation, a.sealed],
    );
  }

  async answer(c: ConnectionId): Promise<OutboxEntry | undefined> {
    return entryOf((await this.pool.query(`SELECT generation, sealed FROM broker_outbox_answers WHERE ${KEY}`, key(c))).rows[0]);
  }

  async dropAnswer(c: ConnectionId, generation: number): Promise<void> {
    await this.pool.query(`DELETE FROM broker_outbox_answers WHERE ${KEY} AND generation <= $5`, [...key(c), generation]);
  }

  async answered(): Promise<ConnectionId[]> {
    return (await this.pool.query<KeyColumns>('SELECT account_id, user_id, mode, provider FROM broker_outbox_answers')).rows.map(fromColumns);
  }
}

const NOW_SECONDS = 'floor(extract(epoch from now()))::bigint';
const entryOf = (row: { generation: unknown; sealed: string } | undefined): OutboxEntry | undefined => row && { generation: Number(row.generation), sealed: row.sealed };

class PostgresWebhookEvents implements WebhookEvents {
  constructor(private readonly pool: Pool) {}

  /** One statement: of copies delivered at once, one inserts or takes over a lapsed lease; the rest see why not. */
  async claim(eventId: string, owner: string, leaseSeconds: number): Promise<EventClaim> {
    const { rows } = await this.pool.query<{ claimed: boolean; handled: boolean }>(
      `WITH claimed AS (
         INSERT INTO broker_webhook_events AS e (id, received_at, lease_owner, lease_until) VALUES ($1, ${NOW_SECONDS}, $2, ${NOW_SECONDS} + $3)
         ON CONFLICT (id) DO UPDATE SET lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until
           WHERE e.lease_owner IS NOT NULL AND e.lease_until <= ${NOW_SECONDS}
         RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM claimed) AS claimed, EXISTS (SELECT 1 FROM broker_webhook_events WHERE id = $1 AND lease_owner IS NULL) AS handled`,
      [eventId, owner, leaseSeconds],
    );
    return rows[0].claimed ? 'claimed' : rows[0].handled ? 'handled' : 'in_progress';
  }

  async handled(eventId: string): Promise<void> {
    await this.pool.query('UPDATE broker_webhook_events SET lease_owner = NULL, lease_until = NULL WHERE id = $1', [eventId]);
  }

  async release(eventId: string, owner: string): Promise<void> {
    await this.pool.query('DELETE FROM broker_webhook_events WHERE id = $1 AND lease_owner = $2', [eventId, owner]);
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

class PostgresKeepAliveClaims implements KeepAliveClaims {
  constructor(private readonly pool: Pool) {}

  /** Not known yet first (records older than the column; one never refreshed, as an API key, never comes due), then by due time. */
  async claimDue(now: number, limit: number, claimSeconds: number): Promise<ConnectionRecord[]> {
    const { rows } = await this.pool.query(
      `UPDATE broker_connections c SET claimed_until = $1 + $3 FROM (
         SELECT account_id, user_id, mode, provider FROM broker_connections
         WHERE status = 'connected' AND ((keep_alive_at IS NULL AND last_refresh_at IS NOT NULL) OR keep_alive_at <= $1) AND (claimed_until IS NULL OR claimed_until < $1)
         ORDER BY keep_alive_at NULLS FIRST LIMIT $2 FOR UPDATE SKIP LOCKED) d
       WHERE c.account_id = d.account_id AND c.user_id = d.user_id AND c.mode = d.mode AND c.provider = d.provider
       RETURNING c.*`,
      [now, limit, claimSeconds],
    );
    return rows.map(recordOf);
  }

  async release(connection: ConnectionId): Promise<void> {
    await this.pool.query(`UPDATE broker_connections SET claimed_until = NULL WHERE ${KEY}`, key(connection));
  }

  /** One statement: of instances starting together with one policy, the first clears the due times. */
  async usePolicy(policy: string): Promise<void> {
    await this.pool.query(
      `WITH changed AS (
         INSERT INTO broker_settings (name, value) VALUES ('keep_alive_policy', $1)
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value WHERE broker_settings.value <> EXCLUDED.value RETURNING 1)
       UPDATE broker_connections SET keep_alive_at = NULL WHERE EXISTS (SELECT 1 FROM changed)`,
      [policy],
    );
  }
}

/** Each migration named by its text: a changed one is a new migration. */
const MIGRATION_IDS = MIGRATIONS.map((sql) => createHash('sha256').update(sql).digest('hex').slice(0, 12));

/** The migrations the schema has had, from any version of this code (none before the first start). */
async function appliedMigrations(db: Pick<Pool, 'query'>): Promise<Set<string>> {
  const { rows } = await db.query<{ made: boolean }>("SELECT to_regclass('broker_settings') IS NOT NULL AS made");
  if (!rows[0].made) return new Set();
  const { rows: [applied] } = await db.query<{ value: string }>("SELECT value FROM broker_settings WHERE name = 'migrations_applied'");
  return new Set(applied?.value.split(',') ?? []);
}

const behind = (applied: Set<string>) => MIGRATION_IDS.some((id) => !applied.has(id));

/**
 * Only when the schema lacks one of this code's migrations (an older instance on a newer schema,
 * in a rolling deploy or a rollback, finds none lacking): the migrations lock whole tables (an
 * ALTER TABLE does even when it changes nothing), and an instance starting beside a running fleet
 * must not hold up its requests — with them it deadlocked (a flush's two-table statement against the ALTERs).
 */
async function migrate(pool: Pool): Promise<void> {
  if (!behind(await appliedMigrations(pool))) return;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('oauth-broker-migrations'))");
    const applied = await appliedMigrations(client);
    if (behind(applied)) {
      for (const sql of MIGRATIONS) await client.query(sql);
      const all = [...new Set([...applied, ...MIGRATION_IDS])].join(',');
      await client.query("INSERT INTO broker_settings (name, value) VALUES ('migrations_applied', $1) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value", [all]);
    }
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
    budget: new PostgresBudget(pool),
    events: new PostgresEvents(pool),
    databaseTime: async () => Number((await pool.query<{ ms: string }>('SELECT floor(extract(epoch from clock_timestamp()) * 1000) AS ms')).rows[0].ms),
    close: async () => {
      await notices.close();
      await pool.end();
    },
  };
}
