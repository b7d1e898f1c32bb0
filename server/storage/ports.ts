/**
 * What the broker keeps in its own database, as small ports by concern: connection records,
 * the outbox, webhook event ids, keep-alive claims, change notices and locks. None holds a
 * readable token: tokens live in the Secret Store, and the outbox holds a new token set (or the
 * provider's answer it is read from) only sealed and only until the Secret Store has taken it
 * (server/broker/token-store.ts).
 * Two implementations: SQLite for one instance (sqlite.ts), PostgreSQL for several (postgres.ts).
 */
import type { ConnectionId, StripeMode } from '../../src/common/connection-id';
import type { ConnectionEvent } from '../../src/common/connection-event';
import type { Lease, LockManager } from './locks';

export type ConnectionStatus = 'connected' | 'reconnect_required';

/** Why a connection needs a reconnect, for the status answer and the logs. */
export type LossReason = 'invalid_grant' | 'lost_after_unknown_outcome' | 'unusable_refresh_secret' | 'secrets_missing' | 'no_refresh_token' | 'subject_changed' | 'api_key_rejected';

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
  /** The id of the sealing key of the refresh secret the backend last wrote (null: unknown). */
  sealedWith: string | null;
  /** When keep-alive should refresh it next (server/broker/keep-alive-policy.ts; null: never, or not known yet). */
  keepAliveAt: number | null;
  /** The ID tokens' `sub`: whose connection this is at the provider (null: the provider sent no ID token yet). */
  subject: string | null;
  /** The generation of the newest token set committed (null: not known); a read of an older one is never sent. */
  generation: number | null;
}

/** A connection's stored row: who it belongs to and its state. */
export interface ConnectionRecord extends ConnectionId, ConnectionState {
  updatedAt: number;
}

export const CONNECTED: ConnectionState = {
  status: 'connected', accessExpiresAt: null, refreshExpiresAt: null, lastRefreshAt: null, failures: 0, outcomeUnknownAt: null, reason: null, sealedWith: null, keepAliveAt: null, subject: null, generation: null,
};

export interface ConnectionRecords {
  get(connection: ConnectionId): Promise<ConnectionRecord | undefined>;
  /** Stores the state and, in the same transaction, the event it makes (when delivery is on). */
  put(connection: ConnectionId, state: ConnectionState, event?: ConnectionEvent): Promise<void>;
  /**
   * The last step before a refresh token leaves: records the intent (`outcomeUnknownAt = at`,
   * an earlier mark kept) only while `lease` still holds the connection's lock, renewing it to
   * `leaseMs` in the same step (PostgreSQL: one statement, by the database's clock), and reserves
   * the room the answer's outbox entry will take. False when the lease is gone: nothing may be sent.
   */
  markIntent(connection: ConnectionId, at: number, lease: Lease, leaseMs: number): Promise<boolean>;
  remove(connection: ConnectionId, event?: ConnectionEvent): Promise<void>;
  /** Records in key order (account, user, mode), filtered, from after `after` (a key of the last page's last one). */
  list(filter: RecordFilter): Promise<ConnectionRecord[]>;
  /** How many records there are by status, degraded, and sealing key. */
  summary(): Promise<RecordSummary>;
}

/** RecordSummary's sealing key for records older than the column that remembers it. */
export const UNKNOWN_SEALING_KEY = 'unknown';

export interface RecordSummary {
  total: number;
  byStatus: Record<ConnectionStatus, number>;
  /** Connected, with transient failures since the last success. */
  degraded: number;
  /** By the sealing key id of the refresh secret last written (`UNSEALED`, or UNKNOWN_SEALING_KEY). */
  bySealingKey: Record<string, number>;
}

export interface RecordFilter {
  accountId?: string;
  mode?: StripeMode;
  /** A named provider's connections ('' : the unnamed provider's). */
  provider?: string;
  status?: ConnectionStatus;
  /** Only those with transient failures (`true`) or none (`false`). */
  degraded?: boolean;
  /** Only those whose refresh secret was last written sealed with another key than this one, or not known to be. */
  sealedOtherThan?: string;
  after?: ConnectionId;
  limit?: number;
}

/**
 * A new token set the Secret Store has not taken yet: its two secrets' payloads exactly as they
 * will be written, sealed. Or, as a kept answer, the provider's answer as it came, sealed before
 * anything read it: `generation` is the one its tokens will have.
 */
export interface OutboxEntry {
  generation: number;
  sealed: string;
}

export interface Outbox {
  /** Keeps the entry unless one of a newer generation is there already; the kept answer it was read from (its generation or older) goes in the same step. */
  put(connection: ConnectionId, entry: OutboxEntry): Promise<void>;
  get(connection: ConnectionId): Promise<OutboxEntry | undefined>;
  /** Removes the entry, and a kept answer, if its generation is at most `generation`. */
  delete(connection: ConnectionId, generation: number): Promise<void>;
  connections(): Promise<ConnectionId[]>;
  /** Keeps a provider's answer (one per connection) unless a newer one is there already; durable when it returns. */
  keepAnswer(connection: ConnectionId, answer: OutboxEntry): Promise<void>;
  answer(connection: ConnectionId): Promise<OutboxEntry | undefined>;
  /** Removes the kept answer if its generation is at most `generation` (the token set, if any, stays). */
  dropAnswer(connection: ConnectionId, generation: number): Promise<void>;
  /** Connections with a kept answer. */
  answered(): Promise<ConnectionId[]>;
}

/** What a delivery of a Stripe event may do: handle it (its lease taken), nothing (handled already), or wait (another delivery holds it). */
export type EventClaim = 'claimed' | 'handled' | 'in_progress';

/**
 * Stripe delivers a webhook event at least once, copies even at the same moment: each event is
 * handled by one delivery at a time, and never again once that succeeded.
 */
export interface WebhookEvents {
  /**
   * Takes the event for `owner` for `leaseSeconds`, in one step, unless it was handled or
   * another owner's lease stands. A lease never ended (a crash) lapses: a later delivery handles it.
   */
  claim(eventId: string, owner: string, leaseSeconds: number): Promise<EventClaim>;
  /** The handler succeeded: the event is never handled again. */
  handled(eventId: string): Promise<void>;
  /** The handler failed: the owner's lease ends, and the next delivery handles it. */
  release(eventId: string, owner: string): Promise<void>;
}

export interface KeepAliveClaims {
  /**
   * Connected connections whose `keepAliveAt` has come (or is not set yet: records older than
   * the column), soonest first through its index, each claimed for `claimSeconds` (or until
   * released) so that of several instances exactly one takes it. A claim never released (a
   * failed refresh, a crash) lapses after `claimSeconds`: the pause before it is tried again.
   */
  claimDue(now: number, limit: number, claimSeconds: number): Promise<ConnectionRecord[]>;
  /** Ends a claim whose refresh is done: the connection comes due again at its new `keepAliveAt` alone. */
  release(connection: ConnectionId): Promise<void>;
  /**
   * The keep-alive policy in force (its description); when it differs from the one the stored
   * due times were computed with, they are cleared, to be computed again (claimDue returns those first).
   */
  usePolicy(policy: string): Promise<void>;
}

/** Tells the other instances that a connection's tokens changed (their caches drop it). */
export interface ChangeNotices {
  announce(connection: ConnectionId): Promise<void>;
  /**
   * `onChange` hears each connection another instance changed; `onLive(false)` when notices may be
   * missed from now on (the listening connection broke), `onLive(true)` once they arrive again.
   */
  listen(onChange: (connectionKey: string) => void, onLive: (live: boolean) => void): void;
}

/** What may be used once: a signed request's nonce, an authorization code (by its hash). */
export interface OnceOnly {
  /** True the first time `key` is claimed before `expiresAt` (unix seconds); false while a claim stands. */
  claim(key: string, expiresAt: number): Promise<boolean>;
}

/** A signed request to count: at most `perSigner` a window for its signer, `perAccount` for its account. */
export interface CountedRequest {
  /** The signer's window on this route; it also remembers the signer's refused signatures. */
  signerKey: string;
  accountKey: string;
  perSigner: number;
  perAccount: number;
  windowMs: number;
  /** The signature's timestamp (unix seconds). */
  signedAt: number;
  /** Unix seconds after which a signature made at `signedAt` no longer verifies. */
  validUntil: number;
}

/** A counted request (its window, to give it back) or a refused one (seconds until it may pass). */
export type Taken = { counted: true; windowStart: number } | { counted: false; retryAfterSeconds: number };

/**
 * Request counts in fixed windows, shared by every instance. Only what is let through counts: the
 * account's window holds the sum of what each signer was allowed, never anyone's excess.
 */
export interface RequestCounts {
  /**
   * In one step: counts the request in both windows when both have room and none of the signer's
   * signatures made at `signedAt` or later was refused before; otherwise counts nothing and
   * remembers `signedAt` as refused (until `validUntil`), so that this signature, never claimed,
   * can never pass later either.
   */
  take(request: CountedRequest): Promise<Taken>;
  /** Uncounts a request `take` counted that was refused after all (a replay): in its own window only. */
  giveBack(request: CountedRequest, windowStart: number): Promise<void>;
}

/**
 * Token buckets shared by the fleet: the Secret Store's request budget per key (SQLite: this
 * process; PostgreSQL: every instance). The rate starts at `limit`, halves on each 429 (at most
 * once a second, with the bucket emptied), and grows back by one request a second each second.
 */
export interface RequestBudget {
  /** Up to `wanted` requests now (none when the bucket is empty), and the rate in force. */
  take(key: string, wanted: number, limit: number): Promise<{ granted: number; rate: number }>;
  /** The store answered 429. */
  throttled(key: string): Promise<void>;
}

/** A recorded event and how its delivery goes. */
export interface StoredEvent extends ConnectionEvent {
  attempts: number;
  nextAttemptAt: number;
  deliveredAt: number | null;
  failedAt: number | null;
  lastError: string | null;
}

export type EventState = 'pending' | 'delivered' | 'failed';

/** Events waiting for delivery, delivered in order per connection, each by one instance. */
export interface ConnectionEvents {
  /** Due events that are their connection's oldest undelivered one, each claimed for `claimSeconds`. */
  claimDue(now: number, limit: number, claimSeconds: number): Promise<StoredEvent[]>;
  delivered(id: string, at: number): Promise<void>;
  retryLater(id: string, nextAttemptAt: number, error: string): Promise<void>;
  failed(id: string, at: number, error: string): Promise<void>;
  list(state: EventState, limit: number): Promise<StoredEvent[]>;
  /** Makes events pending again (ids, or every failed one); how many. */
  redeliver(which: string[] | 'failed', now: number): Promise<number>;
  /** Pending and failed counts, and when the oldest pending one was made. */
  summary(): Promise<{ pending: number; failed: number; oldestPending: number | null }>;
  /** Forgets events delivered before `before`. */
  purgeDelivered(before: number): Promise<void>;
}

/** The broker's database, whichever it is. */
export interface Storage {
  records: ConnectionRecords;
  outbox: Outbox;
  webhookEvents: WebhookEvents;
  keepAlive: KeepAliveClaims;
  notices: ChangeNotices;
  locks: LockManager;
  onceOnly: OnceOnly;
  requestCounts: RequestCounts;
  budget: RequestBudget;
  events: ConnectionEvents;
  /** The database's own clock (unix ms) when it is shared by the fleet (PostgreSQL); absent for SQLite. */
  databaseTime?(): Promise<number>;
  close(): Promise<void>;
}
