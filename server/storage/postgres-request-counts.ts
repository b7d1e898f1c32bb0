/**
 * Request counts in PostgreSQL, shared by the fleet: fixed windows by the database's clock, one
 * row per key. A request is decided by one function call: the signer's row, then the account's,
 * locked in that order (so no two requests wait on each other in a cycle), both counted or
 * neither. A refusal writes nothing but the signer's latest refused signature time, at most once
 * per second of signatures.
 */
import type { Pool } from 'pg';
import type { CountedRequest, RequestCounts, Taken } from './ports';

export const REQUEST_COUNT_MIGRATIONS = [
  'CREATE TABLE IF NOT EXISTS broker_request_windows (key text PRIMARY KEY, window_start bigint NOT NULL, count integer NOT NULL)',
  'ALTER TABLE broker_request_windows ADD COLUMN IF NOT EXISTS refused_signed_at bigint',
  `CREATE OR REPLACE FUNCTION broker_take_request(signer_key text, account_key text, per_signer integer, per_account integer, window_ms bigint, signed_at bigint,
     OUT counted boolean, OUT start_ms bigint, OUT wait_ms bigint) LANGUAGE plpgsql AS $$
   DECLARE
     now_ms bigint := floor(extract(epoch from clock_timestamp()) * 1000);
     signer broker_request_windows;
     account broker_request_windows;
     over_limit boolean;
   BEGIN
     start_ms := now_ms / window_ms * window_ms;
     INSERT INTO broker_request_windows (key, window_start, count) VALUES (signer_key, start_ms, 0), (account_key, start_ms, 0) ON CONFLICT (key) DO NOTHING;
     SELECT * INTO signer FROM broker_request_windows WHERE key = signer_key FOR UPDATE;
     SELECT * INTO account FROM broker_request_windows WHERE key = account_key FOR UPDATE;
     over_limit := (CASE WHEN signer.window_start = start_ms THEN signer.count ELSE 0 END) >= per_signer
       OR (CASE WHEN account.window_start = start_ms THEN account.count ELSE 0 END) >= per_account;
     counted := NOT over_limit AND signed_at > coalesce(signer.refused_signed_at, -1);
     IF counted THEN
       UPDATE broker_request_windows w SET count = CASE WHEN w.window_start = start_ms THEN w.count + 1 ELSE 1 END, window_start = start_ms
         WHERE w.key IN (signer_key, account_key);
     ELSE
       UPDATE broker_request_windows w SET refused_signed_at = signed_at WHERE w.key = signer_key AND coalesce(w.refused_signed_at, -1) < signed_at;
       wait_ms := CASE WHEN over_limit THEN start_ms + window_ms - now_ms ELSE 1000 END;
     END IF;
   END $$`,
];

export class PostgresRequestCounts implements RequestCounts {
  constructor(private readonly pool: Pool) {}

  async take(r: CountedRequest): Promise<Taken> {
    const { rows } = await this.pool.query<{ counted: boolean; start_ms: string; wait_ms: string | null }>(
      'SELECT counted, start_ms, wait_ms FROM broker_take_request($1, $2, $3, $4, $5, $6)',
      [r.signerKey, r.accountKey, r.perSigner, r.perAccount, r.windowMs, r.signedAt],
    );
    const { counted, start_ms, wait_ms } = rows[0];
    return counted ? { counted, windowStart: Number(start_ms) } : { counted, retryAfterSeconds: Math.max(1, Math.ceil(Number(wait_ms) / 1000)) };
  }

  /**
   * One row per statement: a statement that locked both rows, in whatever order its scan met them,
   * deadlocked against another request's take or give-back holding them the other way round.
   */
  async giveBack(r: CountedRequest, windowStart: number): Promise<void> {
    for (const key of [r.signerKey, r.accountKey]) {
      await this.pool.query('UPDATE broker_request_windows SET count = count - 1 WHERE key = $1 AND window_start = $2 AND count > 0', [key, windowStart]);
    }
  }
}
