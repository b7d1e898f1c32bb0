/** A RecordFilter, and the records' summary, as SQL: the same for SQLite and PostgreSQL but for their placeholders. */
import { toColumns } from '../../src/common/connection-id';
import { type RecordFilter, type RecordSummary, UNKNOWN_SEALING_KEY } from './ports';

/** Groups for RecordSummary: one row per status, degraded flag and sealing key. */
export const SUMMARY_SQL = (table: string) =>
  `SELECT status, CASE WHEN failures > 0 THEN 1 ELSE 0 END AS degraded, sealed_with, count(*) AS n FROM ${table} GROUP BY 1, 2, 3`;

export function summaryOf(rows: Array<{ status: string; degraded: number | string; sealed_with: string | null; n: number | string }>): RecordSummary {
  const summary: RecordSummary = { total: 0, byStatus: { connected: 0, reconnect_required: 0 }, degraded: 0, bySealingKey: {} };
  for (const row of rows) {
    const n = Number(row.n);
    const status = row.status as keyof RecordSummary['byStatus'];
    summary.total += n;
    summary.byStatus[status] = (summary.byStatus[status] ?? 0) + n;
    if (Number(row.degraded) === 1 && status === 'connected') summary.degraded += n;
    const key = row.sealed_with ?? UNKNOWN_SEALING_KEY;
    summary.bySealingKey[key] = (summary.bySealingKey[key] ?? 0) + n;
  }
  return summary;
}

export function filterSql(filter: RecordFilter, placeholder: (n: number) => string): { where: string; values: unknown[] } {
  const clauses: string[] = [];
  const values: unknown[] = [];
  const add = (sql: (p: (value: unknown) => string) => string) => clauses.push(sql((value) => (values.push(value), placeholder(values.length))));
  if (filter.accountId !== undefined) add((p) => `account_id = ${p(filter.accountId)}`);
  if (filter.mode !== undefined) add((p) => `mode = ${p(filter.mode)}`);
  if (filter.provider !== undefined) add((p) => `provider = ${p(filter.provider)}`);
  if (filter.status !== undefined) add((p) => `status = ${p(filter.status)}`);
  if (filter.degraded !== undefined) clauses.push(filter.degraded ? 'failures > 0' : 'failures = 0');
  if (filter.sealedOtherThan !== undefined) add((p) => `(sealed_with IS NULL OR sealed_with <> ${p(filter.sealedOtherThan)})`);
  if (filter.after !== undefined) {
    // Row order after the key (account, user, mode, provider), as the listing's ORDER BY.
    const { account_id, user_id, mode, provider } = toColumns(filter.after);
    add((p) => `(account_id, user_id, mode, provider) > (${p(account_id)}, ${p(user_id)}, ${p(mode)}, ${p(provider)})`);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', values };
}
