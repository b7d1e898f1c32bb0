/**
 * The emulator's state: secrets and idempotent results in SQLite (a file for `npm start`,
 * `:memory:` for tests). Every query is confined to one partition — account, mode, scope
 * type and user — as the real store keeps live/test and each user's secrets apart.
 *
 * Choices where Stripe's behaviour is unconfirmed:
 * - a replace keeps `id`, `created` and list position and overwrites `payload`/`expires_at`;
 *   a replace without `expires_at` clears the expiry (set is a full replace);
 * - a secret is gone once `expires_at <= now` (find 404, not listed, not counted);
 * - lists are newest first, ordered by first creation.
 */
import Database from 'better-sqlite3';
import { randomInt } from 'node:crypto';
import type { Scope } from './params';

export const MAX_SECRETS_PER_SCOPE = 10;

export interface Partition {
  account: string;
  livemode: boolean;
  scope: Scope;
}

export interface SecretRow {
  seq: number;
  id: string;
  name: string;
  payload: string;
  created: number;
  expires_at: number | null;
}

export interface StoredResult {
  fingerprint: string;
  status: number;
  body: string;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomId(prefix: string, length: number): string {
  let out = prefix;
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export class SecretStoreState {
  private readonly db: Database.Database;

  constructor(file = ':memory:') {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS secrets (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        account TEXT NOT NULL, livemode INTEGER NOT NULL,
        scope_type TEXT NOT NULL, scope_user TEXT NOT NULL,
        name TEXT NOT NULL, payload TEXT NOT NULL,
        created INTEGER NOT NULL, expires_at INTEGER,
        UNIQUE (account, livemode, scope_type, scope_user, name)
      );
      CREATE INDEX IF NOT EXISTS secrets_expiry ON secrets (expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE IF NOT EXISTS idempotency (
        owner TEXT NOT NULL, key TEXT NOT NULL,
        fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, created INTEGER NOT NULL,
        PRIMARY KEY (owner, key)
      );
      CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created);`);
  }

  /** Statements are prepared once: preparing costs more than running them. */
  private readonly statements = new Map<string, Database.Statement>();

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  close(): void {
    this.db.close();
  }

  /** Runs `fn` in one transaction, so a request's reads and writes see one state. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Expired secrets and old idempotent results are dropped before each request is served (both by index). */
  purge(now: number): void {
    this.sql('DELETE FROM secrets WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now);
    this.sql('DELETE FROM idempotency WHERE created <= ?').run(now - IDEMPOTENCY_TTL_SECONDS);
  }

  private where(p: Partition) {
    return {
      account: p.account,
      livemode: p.livemode ? 1 : 0,
      scope_type: p.scope.type,
      scope_user: p.scope.type === 'user' ? p.scope.user : '',
    };
  }

  private static readonly PARTITION =
    'account = @account AND livemode = @livemode AND scope_type = @scope_type AND scope_user = @scope_user';

  find(p: Partition, name: string): SecretRow | undefined {
    return this.db
      .prepare(`SELECT seq, id, name, payload, created, expires_at FROM secrets WHERE ${SecretStoreState.PARTITION} AND name = @name`)
      .get({ ...this.where(p), name }) as SecretRow | undefined;
  }

  count(p: Partition): number {
    const row = this.sql(`SELECT count(*) AS n FROM secrets WHERE ${SecretStoreState.PARTITION}`).get(this.where(p)) as { n: number };
    return row.n;
  }

  insert(p: Partition, secret: Omit<SecretRow, 'seq'>): SecretRow {
    const info = this.db
      .prepare(
        `INSERT INTO secrets (id, account, livemode, scope_type, scope_user, name, payload, created, expires_at)
         VALUES (@id, @account, @livemode, @scope_type, @scope_user, @name, @payload, @created, @expires_at)`,
      )
      .run({ ...this.where(p), ...secret });
    return { ...secret, seq: Number(info.lastInsertRowid) };
  }

  replace(seq: number, payload: string, expiresAt: number | null): void {
    this.sql('UPDATE secrets SET payload = ?, expires_at = ? WHERE seq = ?').run(payload, expiresAt, seq);
  }

  delete(seq: number): void {
    this.sql('DELETE FROM secrets WHERE seq = ?').run(seq);
  }

  /** One page, newest first: rows older than `after`, or the rows just newer than `before`. */
  page(p: Partition, limit: number, cursor: { after?: number; before?: number }): { rows: SecretRow[]; hasMore: boolean } {
    const cols = 'seq, id, name, payload, created, expires_at';
    const params = { ...this.where(p), limit: limit + 1 };
    let rows: SecretRow[];
    if (cursor.before !== undefined) {
      rows = this.db
        .prepare(`SELECT ${cols} FROM secrets WHERE ${SecretStoreState.PARTITION} AND seq > @before ORDER BY seq ASC LIMIT @limit`)
        .all({ ...params, before: cursor.before }) as SecretRow[];
      const hasMore = rows.length > limit;
      return { rows: rows.slice(0, limit).reverse(), hasMore };
    }
    rows = this.db
      .prepare(`SELECT ${cols} FROM secrets WHERE ${SecretStoreState.PARTITION} AND seq < @after ORDER BY seq DESC LIMIT @limit`)
      .all({ ...params, after: cursor.after ?? Number.MAX_SAFE_INTEGER }) as SecretRow[];
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  seqOf(p: Partition, id: string): number | undefined {
    const row = this.db
      .prepare(`SELECT seq FROM secrets WHERE ${SecretStoreState.PARTITION} AND id = @id`)
      .get({ ...this.where(p), id }) as { seq: number } | undefined;
    return row?.seq;
  }

  storedResult(owner: string, key: string): StoredResult | undefined {
    return this.sql('SELECT fingerprint, status, body FROM idempotency WHERE owner = ? AND key = ?').get(owner, key) as
      | StoredResult
      | undefined;
  }

  storeResult(owner: string, key: string, result: StoredResult, now: number): void {
    this.db
      .prepare('INSERT OR REPLACE INTO idempotency (owner, key, fingerprint, status, body, created) VALUES (?, ?, ?, ?, ?, ?)')
      .run(owner, key, result.fingerprint, result.status, result.body, now);
  }
}
