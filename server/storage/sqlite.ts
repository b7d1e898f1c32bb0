/** The registry in one SQLite file (better-sqlite3): the default, for one backend instance. */
import Database from 'better-sqlite3';
import type { ConnectionId } from '../../src/shared/connection-id';
import type { StripeMode } from '../../src/shared/redirect-uri';
import type { ConnectionRecord, ConnectionRegistry, ConnectionState, DueCriteria, OutboxEntry } from './ports';

interface Row {
  account_id: string;
  user_id: string;
  mode: StripeMode;
  status: ConnectionRecord['status'];
  access_expires_at: number | null;
  refresh_expires_at: number | null;
  last_refresh_at: number | null;
  failures: number;
  outcome_unknown_at: number | null;
  reason: ConnectionRecord['reason'];
  updated_at: number;
}

const unixNow = () => Math.floor(Date.now() / 1000);
const KEY = 'account_id = ? AND user_id = ? AND mode = ?';
const key = (c: ConnectionId) => [c.accountId, c.userId, c.mode] as const;
const idOf = (row: Pick<Row, 'account_id' | 'user_id' | 'mode'>): ConnectionId => ({ accountId: row.account_id, userId: row.user_id, mode: row.mode });

export class SqliteRegistry implements ConnectionRegistry {
  private readonly db: Database.Database;
  private readonly statements: Record<string, Database.Statement>;

  constructor(file = ':memory:') {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // The outbox must survive a crash of the machine, not just of the process.
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS connections (
        account_id TEXT NOT NULL, user_id TEXT NOT NULL, mode TEXT NOT NULL,
        status TEXT NOT NULL, access_expires_at INTEGER, refresh_expires_at INTEGER,
        last_refresh_at INTEGER, failures INTEGER NOT NULL DEFAULT 0, outcome_unknown_at INTEGER,
        reason TEXT, claimed_until INTEGER, updated_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, user_id, mode));
      CREATE TABLE IF NOT EXISTS webhook_events (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox (
        account_id TEXT NOT NULL, user_id TEXT NOT NULL, mode TEXT NOT NULL,
        generation INTEGER NOT NULL, write_id TEXT NOT NULL, sealed TEXT NOT NULL,
        PRIMARY KEY (account_id, user_id, mode))`);
    const prepare = (sql: string) => this.db.prepare(sql);
    this.statements = {
      get: prepare(`SELECT * FROM connections WHERE ${KEY}`),
      put: prepare(`INSERT INTO connections (account_id, user_id, mode, status, access_expires_at, refresh_expires_at,
          last_refresh_at, failures, outcome_unknown_at, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (account_id, user_id, mode) DO UPDATE SET status = excluded.status,
          access_expires_at = excluded.access_expires_at, refresh_expires_at = excluded.refresh_expires_at,
          last_refresh_at = excluded.last_refresh_at, failures = excluded.failures,
          outcome_unknown_at = excluded.outcome_unknown_at, reason = excluded.reason, updated_at = excluded.updated_at`),
      remove: prepare(`DELETE FROM connections WHERE ${KEY}`),
      listAccount: prepare('SELECT account_id, user_id, mode FROM connections WHERE account_id = ? AND mode = ?'),
      seenEvent: prepare('SELECT 1 FROM webhook_events WHERE id = ?'),
      recordEvent: prepare('INSERT OR IGNORE INTO webhook_events (id, received_at) VALUES (?, ?)'),
      putOutbox: prepare(`INSERT INTO outbox (account_id, user_id, mode, generation, write_id, sealed) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (account_id, user_id, mode) DO UPDATE SET generation = excluded.generation,
          write_id = excluded.write_id, sealed = excluded.sealed WHERE excluded.generation > outbox.generation`),
      getOutbox: prepare(`SELECT generation, write_id, sealed FROM outbox WHERE ${KEY}`),
      deleteOutbox: prepare(`DELETE FROM outbox WHERE ${KEY} AND generation <= ?`),
      outboxConnections: prepare('SELECT account_id, user_id, mode FROM outbox'),
      due: prepare(`SELECT account_id, user_id, mode FROM connections WHERE status = 'connected'
          AND (claimed_until IS NULL OR claimed_until < @now)
          AND ((refresh_expires_at - @now < MIN(@margin, (refresh_expires_at - last_refresh_at) / 2.0))
            OR (@idle IS NOT NULL AND last_refresh_at < @idle))
        ORDER BY last_refresh_at LIMIT @limit`),
      claim: prepare(`UPDATE connections SET claimed_until = ? WHERE ${KEY}`),
    };
  }

  async get(c: ConnectionId): Promise<ConnectionRecord | undefined> {
    const row = this.statements.get.get(...key(c)) as Row | undefined;
    return row && {
      ...idOf(row),
      status: row.status,
      accessExpiresAt: row.access_expires_at,
      refreshExpiresAt: row.refresh_expires_at,
      lastRefreshAt: row.last_refresh_at,
      failures: row.failures,
      outcomeUnknownAt: row.outcome_unknown_at,
      reason: row.reason,
      updatedAt: row.updated_at,
    };
  }

  async put(c: ConnectionId, s: ConnectionState): Promise<void> {
    this.statements.put.run(...key(c), s.status, s.accessExpiresAt, s.refreshExpiresAt, s.lastRefreshAt, s.failures, s.outcomeUnknownAt, s.reason, unixNow());
  }

  async remove(c: ConnectionId): Promise<void> {
    this.statements.remove.run(...key(c));
  }

  async listAccount(accountId: string, mode: StripeMode): Promise<ConnectionId[]> {
    return (this.statements.listAccount.all(accountId, mode) as Row[]).map(idOf);
  }

  async seenEvent(eventId: string): Promise<boolean> {
    return this.statements.seenEvent.get(eventId) !== undefined;
  }

  async recordEvent(eventId: string): Promise<void> {
    this.statements.recordEvent.run(eventId, unixNow());
  }

  async putOutbox(c: ConnectionId, e: OutboxEntry): Promise<void> {
    this.statements.putOutbox.run(...key(c), e.generation, e.writeId, e.sealed);
  }

  async getOutbox(c: ConnectionId): Promise<OutboxEntry | undefined> {
    const row = this.statements.getOutbox.get(...key(c)) as { generation: number; write_id: string; sealed: string } | undefined;
    return row && { generation: row.generation, writeId: row.write_id, sealed: row.sealed };
  }

  async deleteOutbox(c: ConnectionId, generation: number): Promise<void> {
    this.statements.deleteOutbox.run(...key(c), generation);
  }

  async outboxConnections(): Promise<ConnectionId[]> {
    return (this.statements.outboxConnections.all() as Row[]).map(idOf);
  }

  async claimDue(due: DueCriteria, limit: number, claimSeconds: number): Promise<ConnectionId[]> {
    return this.db.transaction(() => {
      const rows = (this.statements.due.all({ now: due.now, margin: due.expiryMarginSeconds, idle: due.idleBefore, limit }) as Row[]).map(idOf);
      for (const c of rows) this.statements.claim.run(due.now + claimSeconds, ...key(c));
      return rows;
    })();
  }

  /** One instance per SQLite file: nobody else to tell. */
  async announceChange(): Promise<void> {}

  onChange(): void {}

  async close(): Promise<void> {
    this.db.close();
  }
}
