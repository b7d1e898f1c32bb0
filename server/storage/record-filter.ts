/** A RecordFilter as SQL, the same for SQLite and PostgreSQL but for their placeholders. */
import { toWire } from '../../src/shared/connection-id';
import type { RecordFilter } from './ports';

export function filterSql(filter: RecordFilter, placeholder: (n: number) => string): { where: string; values: unknown[] } {
  const clauses: string[] = [];
  const values: unknown[] = [];
  const add = (sql: (p: (value: unknown) => string) => string) => clauses.push(sql((value) => (values.push(value), placeholder(values.length))));
  if (filter.accountId !== undefined) add((p) => `account_id = ${p(filter.accountId)}`);
  if (filter.mode !== undefined) add((p) => `mode = ${p(filter.mode)}`);
  if (filter.status !== undefined) add((p) => `status = ${p(filter.status)}`);
  if (filter.degraded !== undefined) clauses.push(filter.degraded ? 'failures > 0' : 'failures = 0');
  if (filter.after !== undefined) {
    const { account_id, user_id, mode } = toWire(filter.after);
    add((p) => `(account_id > ${p(account_id)} OR (account_id = ${p(account_id)} AND (user_id > ${p(user_id)} OR (user_id = ${p(user_id)} AND mode > ${p(mode)}))))`);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', values };
}
