/** The broker's storage in one SQLite file (better-sqlite3): the default, for one backend instance. */
import Database from 'better-sqlite3';
import { unixNow } from '../../src/common/clock';
import type { ConnectionEvent } from '../../src/common/connection-event';
import { type ConnectionId, fromColumns, type KeyColumns, toColumns } from '../../src/common/connection-id';
import { InProcessLocks, type Lease } from './locks';
import { EVENT_STATE_SQL, type EventRow, PENDING_EVENT, storedEventOf } from './event-rows';
import { filterSql, SUMMARY_SQL, summaryOf } from './record-filter';
import { MemoryBudget } from './memory-budget';
import { MemoryRequestCounts } from './memory-request-counts';
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

interface Row extends KeyColumns {
  status: ConnectionRecord['status'];
  access_expires_at: number | null;
  refresh_expires_at: number | null;
  last_refresh_at: number | null;
  failures: number;
  outcome_unknown_at: number | null;
  reason: ConnectionRecord['reason'];
  sealed_with: string | null;
  keep_alive_at: number | null;
  subject: string | null;
  generation: number | null;
  updated_at: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS connections (
    account_id TEXT NOT NULL, user_id TEXT NOT NULL, mode TEXT NOT NULL, provider TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL, access_expires_at INTEGER, refresh_expires_at INTEGER,
    last_refresh_at INTEGER, failures INTEGER NOT NULL DEFAULT 0, outcome_unknown_at INTEGER,
    reason TEXT, claimed_until INTEGER, updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id, mode, provider));
  CREATE TABLE IF NOT EXISTS webhook_events (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS outbox (
    account_id TEXT NOT NULL, user_id TEXT NOT NULL, mode TEXT NOT NULL, provider TEXT NOT NULL DEFAULT '',
    generation INTEGER NOT NULL, sealed TEXT NOT NULL,
    PRIMARY KEY (account_id, user_id, mode, provider));
  CREATE TABLE IF NOT EXISTS once_only (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS once_only_expiry ON once_only (expires_at);
  CREATE TABLE IF NOT EXISTS outbox_answers (
    account_id TEXT NOT NULL, user_id TEXT NOT NULL, mode TEXT NOT NULL, provider TEXT NOT NULL DEFAULT '',
    generation INTEGER NOT NULL, sealed TEXT NOT NULL,
    PRIMARY KEY (account_id, user_id, mode, provider));
  CREATE TABLE IF NOT EXISTS outbox_reservations (
    account_id TEXT NOT NULL, user_id TEXT NOT NULL, mode TEXT NOT NULL, provider TEXT NOT NULL DEFAULT '', room BLOB NOT NULL,
    PRIMARY KEY (account_id, user_id, mode, provider));
  CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL, user_id TEXT NOT NULL, mode TEXT NOT NULL, created INTEGER NOT NULL, payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, claimed_until INTEGER,
    delivered_at INTEGER, failed_at INTEGER, last_error TEXT)`;

/** Columns later versions added, for databases an earlier version made. */
const ADDED_COLUMNS: Array<[table: string, column: string, type: string]> = [
  ['connections', 'sealed_with', 'TEXT'],
  ['connections', 'keep_alive_at', 'INTEGER'],
  ['connections', 'subject', 'TEXT'],
  ['connections', 'generation', 'INTEGER'],
  // A webhook event's row without a lease owner was handled (as every row before leases was).
  ['webhook_events', 'lease_owner', 'TEXT'],
  ['webhook_events', 'lease_until', 'INTEGER'],
  ['events', 'provider', "TEXT NOT NULL DEFAULT ''"],
];

/** Indexes on added columns, made once they exist (the pending events' index before providers is replaced). */
const ADDED_INDEXES = `CREATE INDEX IF NOT EXISTS connections_keep_alive ON connections (keep_alive_at) WHERE status = 'connected';
  DROP INDEX IF EXISTS events_pending;
  CREATE INDEX IF NOT EXISTS events_pending_by_provider ON events (account_id, user_id, mode, provider, seq) WHERE delivered_at IS NULL AND failed_at IS NULL`;

/** Tables keyed by connection before there were providers: rebuilt with provider in the key ('' for the one they had). */
const KEYED_TABLES = ['connections', 'outbox', 'outbox_answers', 'outbox_reservations'];

/** Expired once-only claims are swept every so many claims. */
const PURGE_EVERY = 1000;

/** Room for one outbox entry (a sealed token set of two payloads of at most 5000 characters). */
const RESERVED_BYTES = 16_384;

const KEY = 'account_id = ? AND user_id = ? AND mode = ? AND provider = ?';
/** The key columns; an account-wide connection's user_id and the unnamed provider are '' (toColumns). */
const columns = ({ account_id, user_id, mode, provider }: KeyColumns) => [account_id, user_id, mode, provider] as const;
const key = (c: ConnectionId) => columns(toColumns(c));
type Statements<K extends string> = Record<K, Database.Statement>;

const recordOf = (row: Row): ConnectionRecord => ({
  ...fromColumns(row),
  status: row.status,
  accessExpiresAt: row.access_expires_at,
  refreshExpiresAt: row.refresh_expires_at,
  lastRefreshAt: row.last_refresh_at,
  failures: row.failures,
  outcomeUnknownAt: row.outcome_unknown_at,
  reason: row.reason,
  sealedWith: row.sealed_with,
  keepAliveAt: row.keep_alive_at,
  subject: row.subject,
  generation: row.generation,
  updatedAt: row.updated_at,
});

class SqliteRecords implements ConnectionRecords {
  private readonly statements: Statements<'get' | 'put' | 'remove' | 'markIntent' | 'reserve' | 'event'>;

  /** `relaxed` for the record and its event (durable across a crash of the process); `db` (fsynced) for the intent. */
  constructor(
    private readonly db: Database.Database,
    private readonly relaxed: Database.Database,
  ) {
    this.statements = {
      event: relaxed.prepare('INSERT INTO events (id, account_id, user_id, mode, provider, created, payload, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      markIntent: db.prepare(`INSERT INTO connections (account_id, user_id, mode, provider, status, outcome_unknown_at, updated_at)
          VALUES (?, ?, ?, ?, 'connected', ?, ?)
        ON CONFLICT (account_id, user_id, mode, provider) DO UPDATE SET
          outcome_unknown_at = COALESCE(connections.outcome_unknown_at, excluded.outcome_unknown_at), updated_at = excluded.updated_at`),
      reserve: db.prepare(`INSERT OR REPLACE INTO outbox_reservations (account_id, user_id, mode, provider, room) VALUES (?, ?, ?, ?, zeroblob(${RESERVED_BYTES}))`),
      get: relaxed.prepare(`SELECT * FROM connections WHERE ${KEY}`),
      put: relaxed.prepare(`INSERT INTO connections (account_id, user_id, mode, provider, status, access_expires_at, refresh_expires_at,
          last_refresh_at, failures, outcome_unknown_at, reason, sealed_with, keep_alive_at, subject, generation, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (account_id, user_id, mode, provider) DO UPDATE SET status = excluded.status,
          access_expires_at = excluded.access_expires_at, refresh_expires_at = excluded.refresh_expires_at,
          last_refresh_at = excluded.last_refresh_at, failures = excluded.failures,
          outcome_unknown_at = excluded.outcome_unknown_at, reason = excluded.reason, sealed_with = excluded.sealed_with,
          keep_alive_at = excluded.keep_alive_at, subject = excluded.subject, generation = excluded.generation, updated_at = excluded.updated_at`),
      remove: relaxed.prepare(`DELETE FROM connections WHERE ${KEY}`),
    };
  }

  async get(c: ConnectionId): Promise<ConnectionRecord | undefined> {
    const row = this.statements.get.get(...key(c)) as Row | undefined;
    return row && recordOf(row);
  }

  async list(filter: RecordFilter): Promise<ConnectionRecord[]> {
    const { where, values } = filterSql(filter, () => '?');
    const rows = this.db.prepare(`SELECT * FROM connections ${where} ORDER BY account_id, user_id, mode, provider LIMIT ${Math.min(filter.limit ?? 100, 1000)}`).all(...values) as Row[];
    return rows.map(recordOf);
  }

  async summary(): Promise<RecordSummary> {
    return summaryOf(this.db.prepare(SUMMARY_SQL('connections')).all() as Parameters<typeof summaryOf>[0]);
  }

  async put(c: ConnectionId, s: ConnectionState, event?: ConnectionEvent): Promise<void> {
    this.relaxed.transaction(() => {
      this.statements.put.run(...key(c), s.status, s.accessExpiresAt, s.refreshExpiresAt, s.lastRefreshAt, s.failures, s.outcomeUnknownAt, s.reason, s.sealedWith, s.keepAliveAt, s.subject, s.generation, unixNow());
      if (event) this.record(c, event);
    })();
  }

  private record(c: ConnectionId, event: ConnectionEvent): void {
    this.statements.event.run(event.id, ...key(c), event.created, JSON.stringify(event), event.created);
  }

  async markIntent(c: ConnectionId, at: number, lease: Lease, leaseMs: number): Promise<boolean> {
    // The locks are in this process: a renewal that succeeds leaves no moment for another holder.
    if (!(await lease.renew(leaseMs))) return false;
    this.db.transaction(() => {
      this.statements.markIntent.run(...key(c), at, unixNow());
      this.statements.reserve.run(...key(c));
    })();
    return true;
  }

  async remove(c: ConnectionId, event?: ConnectionEvent): Promise<void> {
    this.relaxed.transaction(() => {
      this.statements.remove.run(...key(c));
      if (event) this.record(c, event);
    })();
  }
}


class SqliteEvents implements ConnectionEvents {
  constructor(private readonly db: Database.Database) {}

  async claimDue(now: number, limit: number, claimSeconds: number): Promise<StoredEvent[]> {
    return this.db.transaction(() => {
      const rows = this.db.prepare(`SELECT * FROM events e WHERE ${PENDING_EVENT} AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)
        AND NOT EXISTS (SELECT 1 FROM events p WHERE p.account_id = e.account_id AND p.user_id = e.user_id AND p.mode = e.mode AND p.provider = e.provider AND p.seq < e.seq
          AND p.delivered_at IS NULL AND p.failed_at IS NULL)
        ORDER BY seq LIMIT ?`).all(now, now, limit) as Array<EventRow & { id: string }>;
      const claim = this.db.prepare('UPDATE events SET claimed_until = ? WHERE id = ?');
      for (const row of rows) claim.run(now + claimSeconds, row.id);
      return rows.map(storedEventOf);
    })();
  }

  async delivered(id: string, at: number): Promise<void> {
    this.db.prepare('UPDATE events SET delivered_at = ?, attempts = attempts + 1, claimed_until = NULL WHERE id = ?').run(at, id);
  }

  async retryLater(id: string, nextAttemptAt: number, error: string): Promise<void> {
    this.db.prepare('UPDATE events SET next_attempt_at = ?, attempts = attempts + 1, last_error = ?, claimed_until = NULL WHERE id = ?').run(nextAttemptAt, error, id);
  }

  async failed(id: string, at: number, error: string): Promise<void> {
    this.db.prepare('UPDATE events SET failed_at = ?, attempts = attempts + 1, last_error = ?, claimed_until = NULL WHERE id = ?').run(at, error, id);
  }

  async list(state: EventState, limit: number): Promise<StoredEvent[]> {
    return (this.db.prepare(`SELECT * FROM events WHERE ${EVENT_STATE_SQL[state]} ORDER BY seq LIMIT ?`).all(limit) as EventRow[]).map(storedEventOf);
  }

  async redeliver(which: string[] | 'failed', now: number): Promise<number> {
    const reset = 'UPDATE events SET failed_at = NULL, delivered_at = NULL, next_attempt_at = ?, claimed_until = NULL';
    if (which === 'failed') return this.db.prepare(`${reset} WHERE failed_at IS NOT NULL`).run(now).changes;
    const one = this.db.prepare(`${reset} WHERE id = ?`);
    return this.db.transaction(() => which.reduce((n, id) => n + one.run(now, id).changes, 0))();
  }

  async summary(): Promise<{ pending: number; failed: number; oldestPending: number | null }> {
    const row = this.db.prepare(`SELECT SUM(CASE WHEN ${PENDING_EVENT} THEN 1 ELSE 0 END) AS pending, SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END) AS failed,
      MIN(CASE WHEN ${PENDING_EVENT} THEN created END) AS oldest FROM events`).get() as { pending: number | null; failed: number | null; oldest: number | null };
    return { pending: row.pending ?? 0, failed: row.failed ?? 0, oldestPending: row.oldest };
  }

  async purgeDelivered(before: number): Promise<void> {
    this.db.prepare('DELETE FROM events WHERE delivered_at IS NOT NULL AND delivered_at < ?').run(before);
  }
}

class SqliteOutbox implements Outbox {
  private readonly statements: Statements<'put' | 'unreserve' | 'get' | 'delete' | 'connections' | 'keepAnswer' | 'answer' | 'taken' | 'dropAnswer' | 'answered'>;

  /**
   * An entry or a kept answer is put on `db` (fsynced: it is relied on at once) and deleted on
   * `relaxed` (a lost delete only means a fenced re-flush, or an answer found already taken).
   */
  constructor(
    private readonly db: Database.Database,
    private readonly relaxed: Database.Database,
  ) {
    this.statements = {
      unreserve: db.prepare(`DELETE FROM outbox_reservations WHERE ${KEY}`),
      put: db.prepare(`INSERT INTO outbox (account_id, user_id, mode, provider, generation, sealed) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (account_id, user_id, mode, provider) DO UPDATE SET generation = excluded.generation,
          sealed = excluded.sealed WHERE excluded.generation > outbox.generation`),
      get: db.prepare(`SELECT generation, sealed FROM outbox WHERE ${KEY}`),
      delete: relaxed.prepare(`DELETE FROM outbox WHERE ${KEY} AND generation <= ?`),
      connections: db.prepare('SELECT account_id, user_id, mode, provider FROM outbox'),
      keepAnswer: db.prepare(`INSERT INTO outbox_answers (account_id, user_id, mode, provider, generation, sealed) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (account_id, user_id, mode, provider) DO UPDATE SET generation = excluded.generation,
          sealed = excluded.sealed WHERE excluded.generation >= outbox_answers.generation`),
      answer: db.prepare(`SELECT generation, sealed FROM outbox_answers WHERE ${KEY}`),
      taken: db.prepare(`DELETE FROM outbox_answers WHERE ${KEY} AND generation <= ?`),
      dropAnswer: relaxed.prepare(`DELETE FROM outbox_answers WHERE ${KEY} AND generation <= ?`),
      answered: db.prepare('SELECT account_id, user_id, mode, provider FROM outbox_answers'),
    };
  }

  /** The entry takes the room its intent reserved, so a nearly full disk still has it. */
  async put(c: ConnectionId, e: OutboxEntry): Promise<void> {
    this.db.transaction(() => {
      this.statements.unreserve.run(...key(c));
      this.statements.put.run(...key(c), e.generation, e.sealed);
      this.statements.taken.run(...key(c), e.generation);
    })();
  }

  async get(c: ConnectionId): Promise<OutboxEntry | undefined> {
    return entryOf(this.statements.get.get(...key(c)) as OutboxEntry | undefined);
  }

  async delete(c: ConnectionId, generation: number): Promise<void> {
    this.relaxed.transaction(() => {
      this.statements.delete.run(...key(c), generation);
      this.statements.dropAnswer.run(...key(c), generation);
    })();
  }

  async connections(): Promise<ConnectionId[]> {
    return (this.statements.connections.all() as KeyColumns[]).map(fromColumns);
  }

  async keepAnswer(c: ConnectionId, a: OutboxEntry): Promise<void> {
    this.statements.keepAnswer.run(...key(c), a.generation, a.sealed);
  }

  async answer(c: ConnectionId): Promise<OutboxEntry | undefined> {
    return entryOf(this.statements.answer.get(...key(c)) as OutboxEntry | undefined);
  }

  async dropAnswer(c: ConnectionId, generation: number): Promise<void> {
    this.statements.dropAnswer.run(...key(c), generation);
  }

  async answered(): Promise<ConnectionId[]> {
    return (this.statements.answered.all() as KeyColumns[]).map(fromColumns);
  }
}

const entryOf = (row: OutboxEntry | undefined) => row && { generation: row.generation, sealed: row.sealed };

/** One instance, synchronous statements: a claim is one step, whatever else runs. */
class SqliteWebhookEvents implements WebhookEvents {
  private readonly statements: Statements<'claim' | 'owner' | 'handled' | 'release'>;

  constructor(db: Database.Database) {
    this.statements = {
      claim: db.prepare(`INSERT INTO webhook_events (id, received_at, lease_owner, lease_until) VALUES (@id, @now, @owner, @now + @lease)
        ON CONFLICT (id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
          WHERE webhook_events.lease_owner IS NOT NULL AND webhook_events.lease_until <= @now`),
      owner: db.prepare('SELECT lease_owner FROM webhook_events WHERE id = ?').pluck(),
      handled: db.prepare('UPDATE webhook_events SET lease_owner = NULL, lease_until = NULL WHERE id = ?'),
      release: db.prepare('DELETE FROM webhook_events WHERE id = ? AND lease_owner = ?'),
    };
  }

  async claim(eventId: string, owner: string, leaseSeconds: number): Promise<EventClaim> {
    if (this.statements.claim.run({ id: eventId, owner, lease: leaseSeconds, now: unixNow() }).changes === 1) return 'claimed';
    return this.statements.owner.get(eventId) === null ? 'handled' : 'in_progress';
  }

  async handled(eventId: string): Promise<void> {
    this.statements.handled.run(eventId);
  }

  async release(eventId: string, owner: string): Promise<void> {
    this.statements.release.run(eventId, owner);
  }
}

/**
 * Claims live in the database (they hold across restarts); expired ones are swept every
 * PURGE_EVERY claims. A claim is decided by a read and the claims not yet written, and written
 * with the others of its event-loop turn in one transaction right after: one instance owns a
 * DATA_DIR (instance-lock.ts), so nothing else writes here, and a write per signed request was
 * a fifth of a warm call's CPU. What a claim guards (a provider call, a response) comes later.
 */
class SqliteOnceOnly implements OnceOnly {
  private readonly held: Database.Statement;
  private readonly write: Database.Transaction<(claims: Array<[string, number]>, now: number) => void>;
  private readonly unwritten = new Map<string, number>();
  private scheduled = false;
  private claims = 0;

  constructor(db: Database.Database) {
    this.held = db.prepare('SELECT 1 FROM once_only WHERE key = ? AND expires_at > ?').pluck();
    const upsert = db.prepare('INSERT INTO once_only (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at');
    const purge = db.prepare('DELETE FROM once_only WHERE expires_at <= ?');
    this.write = db.transaction((claims: Array<[string, number]>, now: number) => {
      for (const [key, expiresAt] of claims) upsert.run(key, expiresAt);
      if (Math.floor(this.claims / PURGE_EVERY) !== Math.floor((this.claims - claims.length) / PURGE_EVERY)) purge.run(now);
    });
  }

  async claim(key: string, expiresAt: number): Promise<boolean> {
    const now = unixNow();
    const waiting = this.unwritten.get(key);
    if ((waiting !== undefined && waiting > now) || this.held.get(key, now) !== undefined) return false;
    this.unwritten.set(key, expiresAt);
    this.claims++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** Writes the claims waiting; if the database refuses (full disk), they stay held in memory and go with the next turn's. */
  flush(): void {
    this.scheduled = false;
    if (this.unwritten.size === 0) return;
    const claims = [...this.unwritten];
    try {
      this.write(claims, unixNow());
      for (const [key] of claims) this.unwritten.delete(key);
    } catch {
      // Still held here; the next claim schedules another try.
    }
  }
}

class SqliteKeepAliveClaims implements KeepAliveClaims {
  private readonly due: Database.Statement;
  private readonly claim: Database.Statement;

  constructor(private readonly db: Database.Database) {
    // Not known yet first (records older than the column; one never refreshed, as an API key, never comes due), then by due time.
    this.due = db.prepare(`SELECT * FROM connections WHERE status = 'connected' AND ((keep_alive_at IS NULL AND last_refresh_at IS NOT NULL) OR keep_alive_at <= @now)
        AND (claimed_until IS NULL OR claimed_until < @now)
      ORDER BY keep_alive_at LIMIT @limit`);
    this.claim = db.prepare(`UPDATE connections SET claimed_until = ? WHERE ${KEY}`);
  }

  async claimDue(now: number, limit: number, claimSeconds: number): Promise<ConnectionRecord[]> {
    return this.db.transaction(() => {
      const rows = (this.due.all({ now, limit }) as Row[]).map(recordOf);
      for (const c of rows) this.claim.run(now + claimSeconds, ...key(c));
      return rows;
    })();
  }

  async release(connection: ConnectionId): Promise<void> {
    this.claim.run(null, ...key(connection));
  }

  async usePolicy(policy: string): Promise<void> {
    this.db.transaction(() => {
      const stored = this.db.prepare("SELECT value FROM settings WHERE name = 'keep_alive_policy'").get() as { value: string } | undefined;
      if (stored?.value === policy) return;
      this.db.prepare('UPDATE connections SET keep_alive_at = NULL').run();
      this.db.prepare("INSERT OR REPLACE INTO settings (name, value) VALUES ('keep_alive_policy', ?)").run(policy);
    })();
  }
}

const columnsOf = (db: Database.Database, table: string) => (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name);

/**
 * The schema, with what later versions added. A table keyed without `provider` is renamed, made
 * anew and copied (its rows are the unnamed provider's), all in one transaction: an install
 * keeps every connection with no step of its own.
 */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    const rekeyed = KEYED_TABLES.filter((table) => columnsOf(db, table).length > 0 && !columnsOf(db, table).includes('provider'));
    for (const table of rekeyed) db.exec(`ALTER TABLE ${table} RENAME TO ${table}_before_providers`);
    db.exec(SCHEMA);
    for (const [table, column, type] of ADDED_COLUMNS) {
      if (!columnsOf(db, table).includes(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    }
    for (const table of rekeyed) {
      const kept = columnsOf(db, `${table}_before_providers`).filter((column) => columnsOf(db, table).includes(column)).join(', ');
      db.exec(`INSERT INTO ${table} (${kept}) SELECT ${kept} FROM ${table}_before_providers; DROP TABLE ${table}_before_providers`);
    }
    db.exec(ADDED_INDEXES);
  })();
}

export interface SqliteStorage extends Storage {
  /** Caps the file at its size without free pages plus `pages` (a nearly full disk, for the fault tests). */
  limitPages(pages: number): void;
}

/**
 * In memory when `file` is omitted (tests). One instance per file: nobody else to notify, locks
 * and request counts in process.
 */
export function openSqliteStorage(file = ':memory:'): SqliteStorage {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // The outbox must survive a crash of the machine, not just of the process.
  db.pragma('synchronous = FULL');
  migrate(db);
  // Only the intent mark, the kept answer and the outbox entry are fsynced before they are relied on (the tokens
  // depend on them surviving a crash of the machine). Everything else — records and their events,
  // outbox clean-up, keep-alive claims, delivery state, once-only claims — goes through a
  // connection of its own with synchronous=NORMAL: durable across a crash of the process, and on
  // the machine's next fsync of the log (any later intent or outbox entry makes one).
  const relaxed = file === ':memory:' ? db : new Database(file);
  if (relaxed !== db) relaxed.pragma('synchronous = NORMAL');
  // Earlier versions kept one idempotency key per outbox entry; writes now take a new one per flush.
  if ((db.pragma('table_info(outbox)') as Array<{ name: string }>).some((c) => c.name === 'write_id')) db.exec('ALTER TABLE outbox DROP COLUMN write_id');
  const onceOnly = new SqliteOnceOnly(relaxed);
  return {
    records: new SqliteRecords(db, relaxed),
    outbox: new SqliteOutbox(db, relaxed),
    webhookEvents: new SqliteWebhookEvents(relaxed),
    keepAlive: new SqliteKeepAliveClaims(relaxed),
    notices: { announce: async () => undefined, listen: (_onChange, onLive) => onLive(true) },
    locks: new InProcessLocks(),
    onceOnly,
    requestCounts: new MemoryRequestCounts(),
    budget: new MemoryBudget(),
    events: new SqliteEvents(relaxed),
    limitPages: (pages) => {
      db.exec('VACUUM');
      for (const connection of new Set([db, relaxed])) connection.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true })) + pages}`);
    },
    close: async () => {
      onceOnly.flush();
      if (relaxed !== db) relaxed.close();
      db.close();
    },
  };
}
