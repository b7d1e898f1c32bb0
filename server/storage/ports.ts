/**
 * The connection registry: which connections exist and in what state, with expiry times for
 * status answers and keep-alive; webhook event ids already handled; and the outbox. It holds
 * no readable token: tokens live in the Secret Store, and the outbox holds a new token set only
 * sealed and only until the Secret Store has taken it (token-store.ts).
 * Two implementations: SQLite for one instance (sqlite-registry.ts), PostgreSQL for several
 * (postgres-registry.ts).
 */
import type { ConnectionId } from '../../src/shared/connection-id';
import type { StripeMode } from '../../src/shared/redirect-uri';

export type ConnectionStatus = 'connected' | 'reconnect_required';

/** Why a connection needs a reconnect, for the status answer and the logs. */
export type LossReason = 'invalid_grant' | 'lost_after_unknown_outcome' | 'unusable_refresh_secret' | 'secrets_missing' | 'no_refresh_token';

export interface ConnectionState {
  status: ConnectionStatus;
  accessExpiresAt: number | null;
  refreshExpiresAt: number | null;
  lastRefreshAt: number | null;
  /** Transient refresh failures in a row: connected but degraded while above 0. */
  failures: number;
  /** When a refresh was sent whose answer never came (the provider may have rotated the token). */
  outcomeUnknownAt: number | null;
  reason: LossReason | null;
}

export interface ConnectionRecord extends ConnectionId, ConnectionState {
  updatedAt: number;
}

export const CONNECTED: ConnectionState = {
  status: 'connected', accessExpiresAt: null, refreshExpiresAt: null, lastRefreshAt: null, failures: 0, outcomeUnknownAt: null, reason: null,
};

/** A new token set the Secret Store has not taken yet: sealed, with the idempotency key of its writes. */
export interface OutboxEntry {
  generation: number;
  writeId: string;
  sealed: string;
}

/**
 * Keep-alive: a connection is due when its refresh token has less than half its lifetime left
 * (at most `expiryMarginSeconds`), or when it was last refreshed before `idleBefore` (null: never
 * for idleness).
 */
export interface DueCriteria {
  now: number;
  expiryMarginSeconds: number;
  idleBefore: number | null;
}

/** The same rule in code, for the re-check under the lock. */
export function isKeepAliveDue(due: DueCriteria, lastRefreshAt: number | null, refreshExpiresAt: number | null): boolean {
  if (refreshExpiresAt !== null && lastRefreshAt !== null) {
    const margin = Math.min(due.expiryMarginSeconds, (refreshExpiresAt - lastRefreshAt) / 2);
    if (refreshExpiresAt - due.now < margin) return true;
  }
  return due.idleBefore !== null && lastRefreshAt !== null && lastRefreshAt < due.idleBefore;
}

export interface ConnectionRegistry {
  get(connection: ConnectionId): Promise<ConnectionRecord | undefined>;
  put(connection: ConnectionId, state: ConnectionState): Promise<void>;
  remove(connection: ConnectionId): Promise<void>;
  /** The connections known on an account in one mode. */
  listAccount(accountId: string, mode: StripeMode): Promise<ConnectionId[]>;

  /** Whether a webhook event was handled before (Stripe delivers at least once). */
  seenEvent(eventId: string): Promise<boolean>;
  recordEvent(eventId: string): Promise<void>;

  /** Keeps the entry unless one of a newer generation is there already. */
  putOutbox(connection: ConnectionId, entry: OutboxEntry): Promise<void>;
  getOutbox(connection: ConnectionId): Promise<OutboxEntry | undefined>;
  /** Removes the entry if its generation is at most `generation`. */
  deleteOutbox(connection: ConnectionId, generation: number): Promise<void>;
  outboxConnections(): Promise<ConnectionId[]>;

  /**
   * Connected connections due for a keep-alive refresh, each claimed for `claimSeconds` so that
   * of several instances exactly one takes it.
   */
  claimDue(due: DueCriteria, limit: number, claimSeconds: number): Promise<ConnectionId[]>;

  /** Tells the other instances that a connection's tokens changed (their caches drop it). */
  announceChange(connection: ConnectionId): Promise<void>;
  /** `listener` hears each connection another instance changed, or nothing when notices may have been missed. */
  onChange(listener: (connectionKey?: string) => void): void;
  close(): Promise<void>;
}

/** Changes some fields of a connection's state, keeping the others (a new connection starts from CONNECTED). */
export async function updateState(registry: ConnectionRegistry, connection: ConnectionId, change: Partial<ConnectionState>): Promise<ConnectionState> {
  const record = await registry.get(connection);
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
  await registry.put(connection, state);
  return state;
}
