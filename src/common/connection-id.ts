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

/** What Stripe's ids look like: a Dashboard user's, and an account's. */
export const USER_ID = /^[A-Za-z0-9_]{1,255}$/;
export const ACCOUNT_ID = /^acct_[A-Za-z0-9]{1,255}$/;

const ACCOUNT_WIDE = '(account)';

/** `mode/account/user` (`(account)` for an account-wide connection): in logs, the admin API and the CLI. */
export const connectionKey = (c: ConnectionId) => `${c.mode}/${c.accountId}/${c.userId ?? ACCOUNT_WIDE}`;

/** The connection a key names, or undefined for anything else. */
export function parseConnectionKey(key: string): ConnectionId | undefined {
  const [mode, accountId, user, ...rest] = key.split('/');
  if (rest.length > 0 || (mode !== 'test' && mode !== 'live') || !ACCOUNT_ID.test(accountId ?? '')) return undefined;
  if (user !== ACCOUNT_WIDE && !USER_ID.test(user ?? '')) return undefined;
  return { mode, accountId, userId: user === ACCOUNT_WIDE ? null : user };
}

export const toWire = (c: ConnectionId): WireIds => ({ user_id: c.userId ?? '', account_id: c.accountId, mode: c.mode });

export const fromWire = (w: WireIds): ConnectionId => ({ accountId: w.account_id, userId: w.user_id === '' ? null : w.user_id, mode: w.mode });

/** The connection a user acts on: their own, or their account's. */
export const connectionOf = (user: DashboardUserId, scope: ConnectionScope): ConnectionId => (scope === 'account' ? { ...user, userId: null } : user);

/** Where a connection's secrets are in the Secret Store: the user's scope, or the account's for an account-wide one. */
export const secretScope = (c: ConnectionId): { type: 'user'; user: string } | { type: 'account' } =>
  c.userId === null ? { type: 'account' } : { type: 'user', user: c.userId };
