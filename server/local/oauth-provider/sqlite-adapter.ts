/**
 * oidc-provider storage in SQLite, so that grants, refresh tokens and sessions of the dev
 * provider survive a restart (its default adapter is in memory only).
 */
import type Database from 'better-sqlite3';
import type { Adapter, AdapterPayload } from 'oidc-provider';

export function createSqliteAdapterClass(db: Database.Database) {
  db.exec(`CREATE TABLE IF NOT EXISTS oidc_models (
    model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL,
    grant_id TEXT, user_code TEXT, uid TEXT, expires_at INTEGER,
    PRIMARY KEY (model, id))`);
  const now = () => Date.now();

  return class SqliteAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      db.prepare(
        `INSERT OR REPLACE INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(this.model, id, JSON.stringify(payload), payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null,
        expiresIn ? now() + expiresIn * 1000 : null);
    }

    private findWhere(column: 'id' | 'user_code' | 'uid', value: string): AdapterPayload | undefined {
      const row = db
        .prepare(`SELECT payload, expires_at FROM oidc_models WHERE model = ? AND ${column} = ?`)
        .get(this.model, value) as { payload: string; expires_at: number | null } | undefined;
      if (!row || (row.expires_at !== null && row.expires_at <= now())) return undefined;
      return JSON.parse(row.payload) as AdapterPayload;
    }

    async find(id: string) {
      return this.findWhere('id', id);
    }

    async findByUserCode(userCode: string) {
      return this.findWhere('user_code', userCode);
    }

    async findByUid(uid: string) {
      return this.findWhere('uid', uid);
    }

    async consume(id: string): Promise<void> {
      const payload = this.findWhere('id', id);
      if (!payload) return;
      db.prepare('UPDATE oidc_models SET payload = ? WHERE model = ? AND id = ?').run(
        JSON.stringify({ ...payload, consumed: Math.floor(now() / 1000) }), this.model, id);
    }

    async destroy(id: string): Promise<void> {
      db.prepare('DELETE FROM oidc_models WHERE model = ? AND id = ?').run(this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      db.prepare('DELETE FROM oidc_models WHERE grant_id = ?').run(grantId);
    }
  };
}
