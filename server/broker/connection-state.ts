/** Changes to a connection's stored state, field by field. */
import type { ConnectionId } from '../../src/shared/connection-id';
import { CONNECTED, type ConnectionRecords, type ConnectionState } from '../storage/ports';

/** Changes some fields of a connection's state, keeping the others (a new connection starts from CONNECTED). */
export async function updateState(records: ConnectionRecords, connection: ConnectionId, change: Partial<ConnectionState>): Promise<ConnectionState> {
  const record = await records.get(connection);
  const state: ConnectionState = {
    status: record?.status ?? CONNECTED.status,
    accessExpiresAt: record?.accessExpiresAt ?? null,
    refreshExpiresAt: record?.refreshExpiresAt ?? null,
    lastRefreshAt: record?.lastRefreshAt ?? null,
    failures: record?.failures ?? 0,
    outcomeUnknownAt: record?.outcomeUnknownAt ?? null,
    reason: record?.reason ?? null,
    ...change,
  };
  await records.put(connection, state);
  return state;
}
