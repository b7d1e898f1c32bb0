/**
 * The only place that refreshes tokens. A fresh access token is returned as stored. A due one
 * is refreshed once per connection: in-process single-flight, then the connection's lock, then
 * a re-read (another holder may have refreshed; the outbox may hold newer tokens), then the
 * provider, then the commit (outbox first, Secret Store second: token-store.ts).
 *
 * A refresh outlives its caller: the provider call has its own timeout, and a caller that stops
 * waiting gets 503 while the refresh completes and is stored. A spent refresh token is never
 * sent twice by choice; when a refresh's answer never came (the provider may have rotated the
 * token), the next `invalid_grant` is recorded as lost after an unknown outcome — never silently.
 */
import type { Logger } from 'pino';
import { unixNow } from '../../src/shared/clock';
import { type ConnectionId, connectionKey } from '../../src/shared/connection-id';
import { type AccessPayload, dueAt, isDue, type RefreshPayload, TokenTooLargeError, tokenPayloads } from '../../src/shared/token-layout';
import type { LockManager } from '../storage/locks';
import type { ConnectionRecords, LossReason } from '../storage/ports';
import type { AccessCache } from './access-cache';
import { type LockTimes, withLock } from './connection-lock';
import { updateState } from './connection-state';
import { DEFAULTS, lockTimes } from './defaults';
import { notConnected, providerRejected, providerUnavailable, reconnectRequired, refreshPending } from './errors';
import type { Metrics } from './metrics';
import { classifyOAuthError, describeOAuthError, type OAuthClient } from './oauth-client';
import { type RetryPolicy, withRetries } from './retry';
import { type TokenStore, UNUSABLE } from './token-store';

export interface RefreshOptions {
  marginSeconds: number;
  defaultAccessLifetimeSeconds: number;
  providerRetry: RetryPolicy;
  /** The connection lock: its lease must outlast the provider timeout × attempts. */
  lock: LockTimes;
  /** How long a caller of `accessToken` waits for a refresh before a 503 (the refresh goes on). */
  callerWaitMs: number;
  now: () => number;
}

export const DEFAULT_REFRESH_OPTIONS: RefreshOptions = {
  marginSeconds: DEFAULTS.refreshMarginSeconds,
  defaultAccessLifetimeSeconds: DEFAULTS.defaultAccessLifetimeSeconds,
  providerRetry: DEFAULTS.providerRetry,
  lock: lockTimes(DEFAULTS.providerTimeoutSeconds),
  callerWaitMs: DEFAULTS.refreshWaitSeconds * 1000,
  now: unixNow,
};

/** What the refresh engine and the connection lifecycle work with. */
export interface BrokerParts {
  tokens: TokenStore;
  oauth: OAuthClient;
  locks: LockManager;
  records: ConnectionRecords;
  cache: AccessCache;
  metrics: Metrics;
  logger: Logger;
}

export class RefreshEngine {
  private readonly inFlight = new Map<string, Promise<AccessPayload>>();
  private readonly tokens: TokenStore;
  private readonly oauth: OAuthClient;
  private readonly records: ConnectionRecords;
  private readonly cache: AccessCache;
  private readonly metrics: Metrics;
  private readonly logger: Logger;

  constructor(
    private readonly parts: BrokerParts,
    private readonly options: RefreshOptions,
  ) {
    ({ tokens: this.tokens, oauth: this.oauth, records: this.records, cache: this.cache, metrics: this.metrics, logger: this.logger } = parts);
  }

  private fresh(access: AccessPayload, jitter = 0): boolean {
    return !isDue(access, this.options.now(), this.options.marginSeconds, jitter);
  }

  /** A usable access token, refreshed first when it is within the refresh margin. */
  async accessToken(connection: ConnectionId): Promise<AccessPayload> {
    const key = connectionKey(connection);
    const cached = this.cache.get(key, this.options.now());
    (cached ? this.metrics.cacheHits : this.metrics.cacheMisses).inc();
    if (cached) return cached;
    const ticket = this.cache.ticket();
    const access = await this.tokens.readAccess(connection);
    const jitter = Math.random();
    if (access && this.fresh(access, jitter)) {
      this.remember(key, access, ticket, jitter);
      return access;
    }
    return this.waitFor(this.refreshOnce(connection, () => this.refreshIfDue(connection)));
  }

  /** Served from memory until its (jittered) refresh margin begins, then read (and refreshed) again. */
  private remember(key: string, access: AccessPayload, ticket: number, jitter = 0): void {
    this.cache.set(key, access, dueAt(access, this.options.marginSeconds, jitter), ticket);
  }

  /** Keep-alive: refreshes a connection that is idle or whose refresh token nears expiry, unless someone just did. */
  async keepAlive(connection: ConnectionId, stillDue: (lastRefreshAt: number | null, refreshExpiresAt: number | null) => boolean): Promise<void> {
    await this.refreshOnce(connection, async () => {
      const { access, refresh, held } = await this.tokens.newest(connection);
      if (held) await this.tokens.flush(connection);
      if (!refresh || refresh === UNUSABLE || refresh.refresh_token === null || !stillDue(refresh.refreshed_at, refresh.expires_at)) {
        return access ?? this.refreshIfDue(connection);
      }
      return this.refresh(connection, refresh, true);
    });
  }

  /** In-process single-flight, then the connection's lock. */
  private refreshOnce(connection: ConnectionId, work: () => Promise<AccessPayload>): Promise<AccessPayload> {
    const key = connectionKey(connection);
    let flight = this.inFlight.get(key);
    if (!flight) {
      const waiting = Date.now();
      flight = withLock(this.parts.locks, connection, this.options.lock, () => {
        this.metrics.lockWaitSeconds.observe((Date.now() - waiting) / 1000);
        return work();
      }).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, flight);
    }
    return flight;
  }

  private async waitFor(flight: Promise<AccessPayload>): Promise<AccessPayload> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(refreshPending()), this.options.callerWaitMs);
    });
    try {
      return await Promise.race([flight, gaveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async refreshIfDue(connection: ConnectionId): Promise<AccessPayload> {
    const { access, refresh, held } = await this.tokens.newest(connection);
    if (held) await this.tokens.flush(connection);
    if (access && this.fresh(access)) return access;
    if (refresh === UNUSABLE) return this.lose(connection, 'unusable_refresh_secret');
    if (!refresh) {
      if (!(await this.records.get(connection))) throw notConnected();
      return this.lose(connection, 'secrets_missing');
    }
    if (refresh.refresh_token === null) {
      // No refresh tokens from this provider: the access token serves until it really expires.
      if (access && access.expires_at > this.options.now()) return access;
      return this.lose(connection, 'no_refresh_token');
    }
    return this.refresh(connection, refresh, true);
  }

  private async refresh(connection: ConnectionId, refresh: RefreshPayload, mayRecheck: boolean): Promise<AccessPayload> {
    const key = connectionKey(connection);
    const started = Date.now();
    const log = (outcome: string, extra: object = {}) => {
      this.metrics.refreshes.inc({ outcome });
      this.metrics.refreshSeconds.observe((Date.now() - started) / 1000);
      this.logger.info({ connection: key, outcome, latencyMs: Date.now() - started, generation: refresh.generation, ...extra }, 'refresh');
    };
    // The intent is recorded before the token leaves: if this process dies before the answer is
    // committed, the provider may have rotated the token, and a later invalid_grant says so.
    const earlier = await this.records.get(connection);
    await updateState(this.records, connection, { outcomeUnknownAt: earlier?.outcomeUnknownAt ?? this.options.now() });
    let response;
    try {
      response = await withRetries(this.options.providerRetry, () => this.metrics.providerCall('refresh_token', () => this.oauth.refresh(refresh.refresh_token!)),
        (err) => classifyOAuthError(err) === 'retryable');
    } catch (err) {
      const failure = classifyOAuthError(err);
      log(failure, { error: describeOAuthError(err) });
      if (failure === 'invalid_grant') {
        // A rotation by someone else looks the same at the provider; only an unchanged stored token means lost.
        const { access, refresh: current } = await this.tokens.newest(connection);
        if (mayRecheck && current && current !== UNUSABLE && current.refresh_token && current.refresh_token !== refresh.refresh_token) {
          // The provider answered, so this attempt's outcome is known: its intent mark goes before the next.
          await updateState(this.records, connection, { outcomeUnknownAt: earlier?.outcomeUnknownAt ?? null });
          return access && this.fresh(access) ? access : this.refresh(connection, current, false);
        }
        return this.lose(connection, earlier?.outcomeUnknownAt ? 'lost_after_unknown_outcome' : 'invalid_grant');
      }
      // The provider answered, so it did not rotate; only a lost answer leaves the outcome unknown.
      const outcomeUnknownAt = failure === 'unknown_outcome' ? (earlier?.outcomeUnknownAt ?? this.options.now()) : (earlier?.outcomeUnknownAt ?? null);
      if (failure === 'rejected') {
        await updateState(this.records, connection, { outcomeUnknownAt });
        throw providerRejected();
      }
      // Connected but degraded.
      await updateState(this.records, connection, { failures: (earlier?.failures ?? 0) + 1, outcomeUnknownAt });
      throw providerUnavailable();
    }
    const now = this.options.now();
    let tokens;
    try {
      tokens = tokenPayloads(response, refresh, now, this.options.defaultAccessLifetimeSeconds);
      const stored = await this.tokens.commit(connection, tokens);
      log('refreshed', { stored, rotated: Boolean(response.refresh_token && response.refresh_token !== refresh.refresh_token) });
    } catch (err) {
      if (err instanceof TokenTooLargeError) log('token_too_large');
      throw err;
    }
    const ticket = this.cache.ticket();
    await updateState(this.records, connection, {
      status: 'connected',
      accessExpiresAt: tokens.access.expires_at,
      refreshExpiresAt: tokens.refresh.expires_at,
      lastRefreshAt: now,
      failures: 0,
      outcomeUnknownAt: null,
      reason: null,
    });
    this.remember(key, tokens.access, ticket);
    return tokens.access;
  }

  /** The provider will not refresh this grant again: its secrets go, the state and the reason stay for status. */
  private async lose(connection: ConnectionId, reason: LossReason): Promise<never> {
    if (reason === 'lost_after_unknown_outcome') this.metrics.refreshes.inc({ outcome: reason });
    const level = reason === 'lost_after_unknown_outcome' ? 'error' : 'info';
    this.logger[level]({ connection: connectionKey(connection), outcome: 'reconnect_required', reason }, 'connection lost');
    await this.tokens.remove(connection);
    await updateState(this.records, connection, { status: 'reconnect_required', accessExpiresAt: null, refreshExpiresAt: null, reason });
    throw reconnectRequired();
  }
}
