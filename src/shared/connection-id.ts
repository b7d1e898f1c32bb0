/**
 * Whose a connection is: one Dashboard user's, on one account, in one mode — or, with account-wide
 * connections (CONNECTION_SCOPE=account), the account's in that mode (`userId` null), shared by
 * all its users. `ConnectionId` is the one shape in code; `WireIds` the one on the wire (signed
 * request bodies) and in the database's columns (an account-wide connection's `user_id` is
 * empty there), with one conversion each way.
 */
export type StripeMode = 'test' | 'live';

/** Where a connection's tokens live in the Secret Store: the user's own scope, or the account's. */
export type ConnectionScope = 'user' | 'account';

export interface ConnectionId {
  accountId: string;
  /** null for an account-wide connection. */
  userId: string | null;
  mode: StripeMode;
}

/** A Dashboard user: who signs a request (and whose connection it is, in user scope). */
export type DashboardUserId = ConnectionId & { userId: string };

export interface WireIds {
  user_id: string;
  account_id: string;
  mode: StripeMode;
}

export const connectionKey = (c: ConnectionId) => `${c.mode}/${c.accountId}/${c.userId ?? '(account)'}`;

export const toWire = (c: ConnectionId): WireIds => ({ user_id: c.userId ?? '', account_id: c.accountId, mode: c.mode });

export const fromWire = (w: WireIds): ConnectionId => ({ accountId: w.account_id, userId: w.user_id === '' ? null : w.user_id, mode: w.mode });

/** The connection a user acts on: their own, or their account's. */
export const connectionOf = (user: DashboardUserId, scope: ConnectionScope): ConnectionId => (scope === 'account' ? { ...user, userId: null } : user);
