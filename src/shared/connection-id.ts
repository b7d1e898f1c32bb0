/**
 * Who a connection belongs to: one Dashboard user, on one account, in one mode. `ConnectionId`
 * is the one shape in code; `WireIds` the one on the wire (signed request bodies) and in the
 * database's columns, with one conversion each way.
 */
export type StripeMode = 'test' | 'live';

export interface ConnectionId {
  accountId: string;
  userId: string;
  mode: StripeMode;
}

export interface WireIds {
  user_id: string;
  account_id: string;
  mode: StripeMode;
}

export const connectionKey = (c: ConnectionId) => `${c.mode}/${c.accountId}/${c.userId}`;

export const toWire = (c: ConnectionId): WireIds => ({ user_id: c.userId, account_id: c.accountId, mode: c.mode });

export const fromWire = (w: WireIds): ConnectionId => ({ accountId: w.account_id, userId: w.user_id, mode: w.mode });
