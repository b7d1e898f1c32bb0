/**
 * Failures of the broker's database that may pass — PostgreSQL down, restarting, unreachable or
 * out of room, or a transaction it chose to abort (a deadlock, a serialization failure: nothing
 * of it was kept, and trying again is what PostgreSQL's docs ask); SQLite's disk full or busy — as opposed to bugs. The broker answers them with
 * 503 `registry_unavailable` and keeps every token it holds.
 */
const PG_UNAVAILABLE = /^(08|53|57P0|40P01|40001)/;
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|PROTOCOL)/;
const PG_CLIENT_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error)/;

/** By shape, not class: errors made by Node's own modules belong to another realm under some runners. */
export function isStorageUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (PG_UNAVAILABLE.test(code) || NETWORK.has(code) || SQLITE_UNAVAILABLE.test(code))) return true;
  return typeof message === 'string' && PG_CLIENT_MESSAGES.test(message);
}
