/**
 * What the broker tells the app's own systems when a connection's state changes (README,
 * Connection events). Never a token, code or secret: who, what, and why.
 */
import type { ConnectionScope, StripeMode } from './connection-id';

export type ConnectionEventType =
  | 'connection.connected'
  | 'connection.degraded'
  | 'connection.recovered'
  | 'connection.reconnect_required'
  | 'connection.disconnected';

/** Who ended a connection. */
export type DisconnectedBy = 'user' | 'deauthorization' | 'operator';

export interface ConnectionEvent {
  id: string;
  type: ConnectionEventType;
  /** Unix seconds. */
  created: number;
  data: {
    mode: StripeMode;
    account_id: string;
    /** null for an account-wide connection. */
    user_id: string | null;
    status: 'connected' | 'reconnect_required' | 'not_connected';
    reason: string | null;
    scope: ConnectionScope;
    /** The provider's name in OAUTH_PROVIDERS; only for a named provider. */
    provider?: string;
    /** Only on connection.disconnected. */
    by?: DisconnectedBy;
  };
}
