/**
 * Whose a connection is, and to what: one Dashboard user's, on one account, in one mode — or, with
 * account-wide connections (CONNECTION_SCOPE=account), the account's in that mode (`userId` null),
 * shared by all its users — to one provider (`provider`, when OAUTH_PROVIDERS names several;
 * absent for the one unnamed provider of the plain OAUTH_* variables). `ConnectionId` is the one
 * shape in code; `WireIds` the one on the wire (signed request bodies) and `KeyColumns` the one in
 * the database (an account-wide connection's `user_id` and the unnamed provider are empty there),
 * with one conversion each way.
 */
export type StripeMode = 'test' | 'live';

/** Where a connection's tokens live in the Secret Store: the user's own scope, or the account's. */
export type ConnectionScope = 'user' | 'account';

export interface ConnectionId {
  accountId: string;
  /** null for an account-wide connection. */
  userId: string | null;
  mode: StripeMode;
  /** The provider's name in OAUTH_PROVIDERS; absent for the one unnamed provider. */
  provider?: string;
}

/** A Dashboard user: who signs a request (and whose connection it is, in user scope). */
export type DashboardUserId = Omit<ConnectionId, 'provider'> & { userId: string };

export interface WireIds {
  user_id: string;
  account_id: string;
  mode: StripeMode;
}

/** The database's key columns: the wire's, and the provider ('' for the unnamed one). */
export interface KeyColumns extends WireIds {
  provider: string;
}

/** What a provider's name in OAUTH_PROVIDERS looks like. */
export const PROVIDER_NAME = /^[a-z0-9-]{1,20}$/;

/** What Stripe's ids look like: a Dashboard user's, and an account's. */
export const USER_ID = /^[A-Za-z0-9_]{1,255}$/;
export const ACCOUNT_ID = /^acct_[A-Za-z0-9]{1,255}$/;

const ACCOUNT_WIDE = '(account)';

/**
 * `mode/account/user` (`(account)` for an account-wide connection), then `/provider` for a named
 * provider: in logs, locks, the admin API and the CLI.
 */
export const connectionKey = (c: ConnectionId) => `${c.mode}/${c.accountId}/${c.userId ?? ACCOUNT_WIDE}${c.provider ? `/${c.provider}` : ''}`;

/** The connection a key names, or undefined for anything else. */
export function parseConnectionKey(key: string): ConnectionId | undefined {
  const [mode, accountId, user, provider, ...rest] = key.split('/');
  if (rest.length > 0 || (mode !== 'test' && mode !== 'live') || !ACCOUNT_ID.test(accountId ?? '')) return undefined;
  if (user !== ACCOUNT_WIDE && !USER_ID.test(user ?? '')) return undefined;
  if (provider !== undefined && !PROVIDER_NAME.test(provider)) return undefined;
  return { mode, accountId, userId: user === ACCOUNT_WIDE ? null : user, ...(provider && { provider }) };
}

export const toWire = (c: ConnectionId): WireIds => ({ user_id: c.userId ?? '', account_id: c.accountId, mode: c.mode });

export const fromWire = (w: WireIds): ConnectionId => ({ accountId: w.account_id, userId: w.user_id === '' ? null : w.user_id, mode: w.mode });

export const toColumns = (c: ConnectionId): KeyColumns => ({ ...toWire(c), provider: c.provider ?? '' });

export const fromColumns = (k: KeyColumns): ConnectionId => ({ ...fromWire(k), ...(k.provider && { provider: k.provider }) });

/** The connection a user acts on: their own, or their account's; to `provider` when named. */
export const connectionOf = (user: DashboardUserId, scope: ConnectionScope, provider?: string): ConnectionId => ({
  accountId: user.accountId,
  userId: scope === 'account' ? null : user.userId,
  mode: user.mode,
  ...(provider && { provider }),
});

/** Where a connection's secrets are in the Secret Store: the user's scope, or the account's for an account-wide one. */
export const secretScope = (c: ConnectionId): { type: 'user'; user: string } | { type: 'account' } =>
  c.userId === null ? { type: 'account' } : { type: 'user', user: c.userId };
