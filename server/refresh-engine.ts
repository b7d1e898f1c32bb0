/**
 * The only place that refreshes tokens. A fresh access token is returned as stored. A due one
 * is refreshed once per connection: in-process single-flight, then the connection's lock, then
 * a re-read (another holder may have refreshed), then the provider, then the rewrite.
 */
import { AccessPayload, isDue, RefreshPayload, TokenTooLargeError, tokenPayloads } from '../src/lib/token-layout';
import { ConnectionId, connectionKey } from '../src/lib/connection-id';
import {
  HttpError,
  notConnected,
  providerRejected,
  providerUnavailable,
  reconnectRequired,
} from './http-error';
import type { LockManager } from './locks';
import type { Logger } from './logger';
import { classifyOAuthError, describeOAuthError, OAuthClient } from './oauth-client';
import type { ConnectionRegistry } from './registry';
import { type TokenStore, UNUSABLE } from './token-store';
import { RetryPolicy, withRetries } from './user-secrets';

export interface RefreshOptions {
  marginSeconds: number;
  defaultAccessLifetimeSeconds: number;
  providerRetry: RetryPolicy;
  lockLeaseMs: number;
  lockWaitMs: number;
  now: () => number;
}

export const DEFAULT_REFRESH_OPTIONS: Omit<RefreshOptions, 'marginSeconds' | 'defaultAccessLifetimeSeconds'> = {
  providerRetry: { attempts: 3, baseDelayMs: 300 },
  lockLeaseMs: 60_000,
  lockWaitMs: 65_000,
  now: () => Math.floor(Date.now() / 1000),
};

export class RefreshEngine {
  private readonly inFlight = new Map<string, Promise<AccessPayload>>();

  constructor(
    private readonly tokens: TokenStore,
    private readonly oauth: OAuthClient,
    private readonly locks: LockManager,
    private readonly registry: ConnectionRegistry,
    private readonly logger: Logger,
    private readonly options: RefreshOptions,
  ) {}

  /** Runs `fn` holding the connection's lock (exchange and disconnect take it too). */
  async withLock<T>(connection: ConnectionId, fn: () => Promise<T>): Promise<T> {
    let lease;
    try {
      lease = await this.locks.acquire(connectionKey(connection), this.options.lockLeaseMs, this.options.lockWaitMs);
    } catch {
      throw new HttpError(503, 'busy', 'Another operation on this connection is still running; try again shortly.');
    }
    try {
      return await fn();
    } finally {
      await lease.release();
    }
  }

  private fresh(access: AccessPayload, jitter = 0): boolean {
    return !isDue(access, this.options.now(), this.options.marginSeconds, jitter);
  }

  /** A usable access token, refreshed first when it is within the refresh margin. */
  async accessToken(connection: ConnectionId): Promise<AccessPayload> {
    const access = await this.tokens.readAccess(connection);
    if (access && this.fresh(access, Math.random())) return access;
    const key = connectionKey(connection);
    let flight = this.inFlight.get(key);
    if (!flight) {
      flight = this.withLock(connection, () => this.refreshIfDue(connection)).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, flight);
    }
    return flight;
  }

  private async refreshIfDue(connection: ConnectionId): Promise<AccessPayload> {
    const access = await this.tokens.readAccess(connection);
    if (access && this.fresh(access)) return access;
    const refresh = await this.tokens.readRefresh(connection);
    if (refresh === UNUSABLE) {
      this.logger.info({ connection: connectionKey(connection), outcome: 'unusable_refresh_secret' }, 'refresh');
      await this.dropConnection(connection);
      throw reconnectRequired();
    }
    if (!refresh) {
      const record = await this.registry.get(connection);
      if (!record) throw notConnected();
      await this.markReconnectRequired(connection);
      throw reconnectRequired();
    }
    if (refresh.refresh_token === null) {
      // No refresh tokens from this provider: the access token serves until it really expires.
      if (access && access.expires_at > this.options.now()) return access;
      await this.dropConnection(connection);
      throw reconnectRequired();
    }
    return this.refresh(connection, refresh, true);
  }

  private async refresh(connection: ConnectionId, refresh: RefreshPayload, mayRecheck: boolean): Promise<AccessPayload> {
    const key = connectionKey(connection);
    const started = Date.now();
    const log = (outcome: string, extra: object = {}) =>
      this.logger.info({ connection: key, outcome, latencyMs: Date.now() - started, generation: refresh.generation, ...extra }, 'refresh');
    let response;
    try {
      response = await withRetries(this.options.providerRetry, () => this.oauth.refresh(refresh.refresh_token!),
        (err) => classifyOAuthError(err) === 'retryable');
    } catch (err) {
      const failure = classifyOAuthError(err);
      log(failure, { error: describeOAuthError(err) });
      if (failure === 'invalid_grant') {
        // A rotation by someone else looks the same at the provider; only an unchanged stored token means revoked.
        const current = await this.tokens.readRefresh(connection);
        if (mayRecheck && current && current !== UNUSABLE && current.refresh_token && current.refresh_token !== refresh.refresh_token) {
          const access = await this.tokens.readAccess(connection);
          return access && this.fresh(access) ? access : this.refresh(connection, current, false);
        }
        await this.dropConnection(connection);
        throw reconnectRequired();
      }
      throw failure === 'rejected' ? providerRejected() : providerUnavailable();
    }
    const now = this.options.now();
    let tokens;
    try {
      tokens = tokenPayloads(response, refresh, now, this.options.defaultAccessLifetimeSeconds);
      const stored = await this.tokens.write(connection, tokens);
      log('refreshed', { stored, rotated: Boolean(response.refresh_token && response.refresh_token !== refresh.refresh_token) });
    } catch (err) {
      if (err instanceof TokenTooLargeError) log('token_too_large');
      throw err;
    }
    await this.registry.put(connection, {
      status: 'connected',
      accessExpiresAt: tokens.access.expires_at,
      refreshExpiresAt: tokens.refresh.expires_at,
      lastRefreshAt: now,
    });
    return tokens.access;
  }

  private async markReconnectRequired(connection: ConnectionId): Promise<void> {
    await this.registry.put(connection, { status: 'reconnect_required', accessExpiresAt: null, refreshExpiresAt: null, lastRefreshAt: null });
  }

  /** The provider will not refresh this grant again: remove its secrets, keep the state for status. */
  private async dropConnection(connection: ConnectionId): Promise<void> {
    await this.tokens.remove(connection);
    await this.markReconnectRequired(connection);
  }
}
