/**
 * Request budgets in PostgreSQL, one row per key, shared by the fleet: budget-math.ts in one
 * statement each, by the database's clock, the row lock serializing the instances.
 */
import type { Pool } from 'pg';
import { BURST_SECONDS, CUT_SPACING_MS, INCREASE_PER_SECOND, MIN_RATE } from './budget-math';
import type { RequestBudget } from './ports';

export const BUDGET_MIGRATION = `CREATE TABLE IF NOT EXISTS broker_budget (
  key text PRIMARY KEY, tokens double precision NOT NULL, rate double precision NOT NULL,
  updated_ms bigint NOT NULL, cut_ms bigint NOT NULL, granted integer NOT NULL)`;

const NOW_MS = `(floor(extract(epoch from clock_timestamp()) * 1000)::bigint)`;

/** In SET, every column is read as it was: `rate` and `tokens` below are the row's before this take. */
const AVAILABLE = `least(greatest(1, least($3, b.rate + (t.now - b.updated_ms) / 1000.0 * ${INCREASE_PER_SECOND}) * ${BURST_SECONDS}),
  b.tokens + (t.now - b.updated_ms) / 1000.0 * b.rate)`;
const GRANTED = `greatest(0, least($2, floor(${AVAILABLE})))::integer`;

export class PostgresBudget implements RequestBudget {
  private readonly known = new Set<string>();

  constructor(private readonly pool: Pool) {}

  async take(key: string, wanted: number, limit: number): Promise<{ granted: number; rate: number }> {
    if (!this.known.has(key)) {
      await this.pool.query(
        `INSERT INTO broker_budget (key, tokens, rate, updated_ms, cut_ms, granted) VALUES ($1, greatest(1, $2 * ${BURST_SECONDS}), $2, ${NOW_MS}, 0, 0)
         ON CONFLICT (key) DO NOTHING`,
        [key, limit],
      );
      this.known.add(key);
    }
    const { rows } = await this.pool.query<{ granted: number; rate: number }>(
      `WITH t AS (SELECT ${NOW_MS} AS now)
       UPDATE broker_budget b SET
         rate = least($3, b.rate + (t.now - b.updated_ms) / 1000.0 * ${INCREASE_PER_SECOND}),
         tokens = ${AVAILABLE} - ${GRANTED},
         granted = ${GRANTED},
         updated_ms = greatest(b.updated_ms, t.now)
       FROM t WHERE b.key = $1 RETURNING b.granted, b.rate`,
      [key, wanted, limit],
    );
    return { granted: Number(rows[0].granted), rate: Number(rows[0].rate) };
  }

  async throttled(key: string): Promise<void> {
    await this.pool.query(
      `UPDATE broker_budget SET rate = greatest(${MIN_RATE}, rate / 2), tokens = least(tokens, 0), cut_ms = ${NOW_MS}
       WHERE key = $1 AND ${NOW_MS} - cut_ms >= ${CUT_SPACING_MS}`,
      [key],
    );
  }
}
