/**
 * The connection registry: which connections exist and in what state, with expiry times for
 * status answers and keep-alive — never a token (tokens live in the Secret Store alone).
 * The interface is async so that a PostgreSQL implementation can take the SQLite one's place.
 */
import Database from 'better-sqlite3';
import type { ConnectionId } from '../src/lib/connection-id';
import type { StripeMode } from '../src/lib/redirect-uri';

export type ConnectionStatus = 'connected' | 'reconnect_required';

export interface ConnectionRecord extends ConnectionId {
  status: ConnectionStatus;
  accessExpiresAt: number | null;
  refreshExpiresAt: number | null;
  lastRefreshAt: number | null;
  updatedAt: number;
}

export type ConnectionUpdate = Pick<ConnectionRecord, 'status' | 'accessExpiresAt' | 'refreshExpiresAt' | 'lastRefreshAt'>;

export interface ConnectionRegistry {
  get(connection: ConnectionId): Promise<ConnectionRecord | undefined>;
  put(connection: ConnectionId, update: ConnectionUpdate): Promise<void>;
  remove(connection: ConnectionId): Promise<void>;
  /** The connections known on an account in one mode. */
  listAccount(accountId: string, mode: StripeMode): Promise<ConnectionId[]>;
  /** Whether a webhook event was handled before (Stripe delivers at least once). */
  seenEvent(eventId: string): Promise<boolean>;
  recordEvent(eventId: string): Promise<void>;
  close(): Promise<void>;
}

interface Row {
  account_id: string;
  user_id: string;
  mode: 'test' | 'live';
  status: ConnectionStatus;
  access_expires_at: number | null;
  refresh_expires_at: number | null;
  last_refresh_at: number | null;
  updated_at: number;
}

export class SqliteRegistry implements ConnectionRegistry {
  private readonly db: Database.Database;

  constructor(file = ':memory:') {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS connections (
      account_id TEXT NOT NULL, user_id TEXT NOT NULL, mode TEXT NOT NULL,
      status TEXT NOT NULL, access_expires_at INTEGER, refresh_expires_at INTEGER,
      last_refresh_at INTEGER, updated_at INTEGER NOT NULL,
      PRIMARY KEY (account_id, user_id, mode));
      CREATE TABLE IF NOT EXISTS webhook_events (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL)`);
  }

  async get(c: ConnectionId): Promise<ConnectionRecord | undefined> {
    const row = this.db
      .prepare('SELECT * FROM connections WHERE account_id = ? AND user_id = ? AND mode = ?')
      .get(c.accountId, c.userId, c.mode) as Row | undefined;
    return row && {
      accountId: row.account_id,
      userId: row.user_id,
      mode: row.mode,
      status: row.status,
      accessExpiresAt: row.access_expires_at,
      refreshExpiresAt: row.refresh_expires_at,
      lastRefreshAt: row.last_refresh_at,
      updatedAt: row.updated_at,
    };
  }

  async put(c: ConnectionId, u: ConnectionUpdate): Promise<void> {
    this.db
      .prepare(`INSERT OR REPLACE INTO connections
        (account_id, user_id, mode, status, access_expires_at, refresh_expires_at, last_refresh_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(c.accountId, c.userId, c.mode, u.status, u.accessExpiresAt, u.refreshExpiresAt, u.lastRefreshAt, Math.floor(Date.now() / 1000));
  }

  async remove(c: ConnectionId): Promise<void> {
    this.db.prepare('DELETE FROM connections WHERE account_id = ? AND user_id = ? AND mode = ?').run(c.accountId, c.userId, c.mode);
  }

  async listAccount(accountId: string, mode: StripeMode): Promise<ConnectionId[]> {
    const rows = this.db.prepare('SELECT user_id FROM connections WHERE account_id = ? AND mode = ?').all(accountId, mode) as Array<{ user_id: string }>;
    return rows.map((row) => ({ accountId, userId: row.user_id, mode }));
  }

  async seenEvent(eventId: string): Promise<boolean> {
    return this.db.prepare('SELECT 1 FROM webhook_events WHERE id = ?').get(eventId) !== undefined;
  }

  async recordEvent(eventId: string): Promise<void> {
    this.db.prepare('INSERT OR IGNORE INTO webhook_events (id, received_at) VALUES (?, ?)').run(eventId, Math.floor(Date.now() / 1000));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
