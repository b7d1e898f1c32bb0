/** Who a connection belongs to: one Dashboard user, on one account, in one mode. */
import type { StripeMode } from './redirect-uri';

export interface ConnectionId {
  accountId: string;
  userId: string;
  mode: StripeMode;
}

export const connectionKey = (c: ConnectionId) => `${c.mode}/${c.accountId}/${c.userId}`;
