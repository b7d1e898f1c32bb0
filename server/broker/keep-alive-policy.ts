/**
 * When a connection is due for keep-alive: once it has been idle for KEEP_ALIVE_SECONDS (less a
 * spread of up to a tenth, fixed per connection, so connections made together do not all come
 * due together), or once its refresh token has less than half its lifetime left (at most a
 * day). Stored with the record (`keepAliveAt`, indexed), so the claim reads only what is due;
 * the re-check under the lock uses the same rule on the stored refresh payload.
 */
import { type ConnectionId, connectionKey } from '../../src/common/connection-id';

export interface KeepAlivePolicy {
  /** 0: never for idleness (refresh tokens near expiry still are). */
  idleSeconds: number;
}

/** Refresh tokens with less than half their lifetime left, and at most a day, are refreshed ahead. */
const EXPIRY_MARGIN_SECONDS = 86_400;
const SPREAD = 0.1;

/** A stable fraction in [0, 1) per connection (FNV-1a of its key). */
function fractionOf(connection: ConnectionId): number {
  const key = connectionKey(connection);
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) / 2 ** 32;
}

/** The policy as storage remembers it: a change clears the stored due times (KeepAliveClaims.usePolicy). */
export const describePolicy = (policy: KeepAlivePolicy) => `idle=${policy.idleSeconds};expiry=${EXPIRY_MARGIN_SECONDS};spread=${SPREAD}`;

/** When keep-alive should next refresh the connection (null: never). */
export function keepAliveAt(connection: ConnectionId, lastRefreshAt: number | null, refreshExpiresAt: number | null, policy: KeepAlivePolicy): number | null {
  if (lastRefreshAt === null) return null;
  const idle = policy.idleSeconds > 0 ? lastRefreshAt + Math.round(policy.idleSeconds * (1 - SPREAD * fractionOf(connection))) : null;
  const expiring = refreshExpiresAt === null ? null : refreshExpiresAt - Math.min(EXPIRY_MARGIN_SECONDS, (refreshExpiresAt - lastRefreshAt) / 2);
  if (idle === null) return expiring === null ? null : Math.floor(expiring);
  return expiring === null ? idle : Math.floor(Math.min(idle, expiring));
}
