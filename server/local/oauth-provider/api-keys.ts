/**
 * The dev provider's API keys, as a provider with API keys issues them: a signed-in user makes one
 * (`POST /api/keys` with their access token) and it then works on the API like a token of theirs,
 * until it is revoked (`DELETE /api/keys` with the key itself). Only a hash of each key is kept.
 */
import type Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'devkey_';

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');

export class ApiKeyStore {
  constructor(private readonly db: Database.Database) {
    db.exec('CREATE TABLE IF NOT EXISTS dev_api_keys (hash TEXT PRIMARY KEY, sub TEXT NOT NULL, created INTEGER NOT NULL)');
  }

  issue(sub: string): string {
    const key = `${API_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
    this.db.prepare('INSERT INTO dev_api_keys (hash, sub, created) VALUES (?, ?, ?)').run(hashOf(key), sub, Math.floor(Date.now() / 1000));
    return key;
  }

  /** Whose key it is; undefined for an unknown or revoked one. */
  subjectOf(key: string): string | undefined {
    return (this.db.prepare('SELECT sub FROM dev_api_keys WHERE hash = ?').get(hashOf(key)) as { sub: string } | undefined)?.sub;
  }

  /** Every key goes (a test's reset). */
  clear(): void {
    this.db.exec('DELETE FROM dev_api_keys');
  }

  revoke(key: string): boolean {
    return this.db.prepare('DELETE FROM dev_api_keys WHERE hash = ?').run(hashOf(key)).changes === 1;
  }
}
