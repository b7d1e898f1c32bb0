/** Who a connection belongs to: one Dashboard user, on one account, in one mode. */
import type { StripeMode } from '../src/lib/redirect-uri';

export interface Connection {
  accountId: string;
  userId: string;
  mode: StripeMode;
}

export const connectionKey = (c: Connection) => `${c.mode}/${c.accountId}/${c.userId}`;
