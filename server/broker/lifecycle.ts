/**
 * Connection lifecycle around the refresh engine: the backend-mode code exchange, registering
 * a connection the extension stored itself, status, and disconnect. Each that changes tokens
 * holds the connection's lock, so none of them interleaves with a refresh.
 */
import { createHash } from 'node:crypto';
import type { DisconnectedBy } from '../../src/common/connection-event';
import type { Logger } from 'pino';
import { type ConnectionId, connectionKey, type StripeMode } from '../../src/common/connection-id';
import { tokenPayloads } from '../../src/common/token-layout';
import { CONNECTED, type ConnectionRecord, type ConnectionRecords, type LossReason } from '../storage/ports';
import { type LockTimes, withLock } from './connection-lock';
import { BrokerError, describeError, notConnected, providerRejected, providerUnavailable, secretStoreFull, signInOutcomeUnknown } from './errors';
import type { Metrics } from './metrics';
import { classifyOAuthError, describeOAuthError } from './oauth-client';
import type { Providers } from './providers';
import type { BrokerParts } from './refresh-engine';
import { UNSEALED } from './token-sealing';
import { type ResealOutcome, type Tokens, type TokenStore, UNUSABLE } from './token-store';

/** What `/api/connection/status` (and the exchange) answers. */
export interface StatusAnswer {
  status: 'connected' | 'reconnect_required' | 'not_connected';
  access_expires_at: number | null;
  refresh_expires_at: number | null;
  last_refresh_at: number | null;
  scope: string | null;
  /** Connected, but the last refreshes failed for passing reasons (the provider was down, slow…). */
  degraded: boolean;
  /**
   * Why a reconnect is required, when known; or why the connection is degraded, when it is the
   * Secret Store's throttling or a sealing key this instance lacks.
   */
  reason: LossReason | 'secret_store_throttled' | 'sealing_key_missing' | null;
}

const NOT_CONNECTED: StatusAnswer = {
  status: 'not_connected', access_expires_at: null, refresh_expires_at: null, last_refresh_at: null, scope: null, degraded: false, reason: null,
};

const connectedAnswer = (tokens: Partial<Tokens>, degraded = false): StatusAnswer => ({
  status: 'connected',
  access_expires_at: tokens.access?.expires_at ?? null,
  refresh_expires_at: tokens.refresh?.expires_at ?? null,
  last_refresh_at: tokens.refresh?.refreshed_at ?? null,
  scope: tokens.access?.scope ?? null,
  degraded,
  reason: null,
});

/** How long an authorization code could still be valid (RFC 6749 §4.1.2: at most 10 minutes). */
const CODE_LIFETIME_SECONDS = 600;

const invalidCode = () =>
  new BrokerError('invalid_code', 'The provider rejected the authorization code (expired, already used, or a verifier or redirect URI mismatch).');

export interface LifecycleOptions {
  now: () => number;
  lock: LockTimes;
}

/** A connection from exchange to disconnect, around the refresh engine. */
export class Lifecycle {
  private readonly tokens: TokenStore;
  private readonly providers: Providers;
  private readonly records: ConnectionRecords;
  private readonly metrics: Metrics;
  private readonly logger: Logger;

  constructor(
    private readonly parts: BrokerParts,
    private readonly options: LifecycleOptions,
  ) {
    ({ tokens: this.tokens, providers: this.providers, records: this.records, metrics: this.metrics, logger: this.logger } = parts);
  }

  private locked<T>(connection: ConnectionId, fn: () => Promise<T>): Promise<T> {
    return withLock(this.parts.locks, connection, this.options.lock, fn);
  }

  /** A new grant: recorded (and its `connected` event), with the key its refresh secret is sealed with and whose it is (`subject`). */
  private async record(connection: ConnectionId, tokens: Tokens, sealedWith: string, failures = 0, subject: string | null = null): Promise<StatusAnswer> {
    await this.parts.states.connected(connection, {
      ...CONNECTED,
      accessExpiresAt: tokens.access.expires_at,
      refreshExpiresAt: tokens.refresh.expires_at,
      lastRefreshAt: tokens.refresh.refreshed_at,
      failures,
      sealedWith,
      subject,
      generation: tokens.refresh.generation,
    });
    return connectedAnswer(tokens, failures > 0);
  }

  async exchange(connection: ConnectionId, code: string, verifier: string, redirectUri: string): Promise<StatusAnswer> {
    return this.locked(connection, async () => {
      // Read before the code is spent (a Secret Store outage fails here, with the code still good):
      // the grant this one replaces, the generation the new one continues (so no older write can
      // replace it), and room in the scope for both secrets.
      const { refresh: before } = await this.tokens.newest(connection);
      const previous = before && before !== UNUSABLE ? before : undefined;
      if (!(await this.tokens.hasRoom(connection))) throw secretStoreFull();
      // A code is exchanged once: a replay is refused here, before the provider sees it again.
      if (!(await this.parts.onceOnly.claim(`code:${createHash('sha256').update(code).digest('hex')}`, this.options.now() + CODE_LIFETIME_SECONDS))) {
        throw invalidCode();
      }
      const provider = this.providers.oauth(connection);
      let answer;
      try {
        answer = await this.metrics.providerCall('authorization_code', () => provider.oauth.exchangeCode(code, verifier, redirectUri));
      } catch (err) {
        const failure = classifyOAuthError(err);
        this.logger.info({ connection: connectionKey(connection), outcome: failure, error: describeOAuthError(err) }, 'exchange');
        if (failure === 'invalid_grant') throw invalidCode();
        if (failure === 'rejected') throw providerRejected();
        throw failure === 'unknown_outcome' ? signInOutcomeUnknown() : providerUnavailable();
      }
      const generation = (previous?.generation ?? 0) + 1;
      const fresh = tokenPayloads(answer.tokens, undefined, this.options.now(), provider.defaultAccessLifetimeSeconds);
      const tokens: Tokens = { access: { ...fresh.access, generation }, refresh: { ...fresh.refresh, generation } };
      const stored = await this.tokens.commit(connection, tokens);
      this.logger.info({ connection: connectionKey(connection), outcome: 'connected', stored, refreshable: tokens.refresh.refresh_token !== null, ...(answer.problem && { problem: answer.problem }) }, 'exchange');
      // The new grant replaces the old one, which would otherwise stay valid at the provider.
      if (previous?.refresh_token && previous.refresh_token !== tokens.refresh.refresh_token) await this.revoke(connection, previous.refresh_token);
      // Tokens that failed a check (answer.problem) are kept, and the connection shows as degraded.
      return this.record(connection, tokens, this.tokens.sealingKeyId, answer.problem ? 1 : 0, answer.subject ?? null);
    });
  }

  /** Extension mode: the extension wrote both secrets in its user scope; check they are there, then record them. */
  async register(connection: ConnectionId): Promise<StatusAnswer> {
    return this.locked(connection, async () => {
      const [access, refresh] = await Promise.all([this.tokens.readAccess(connection), this.tokens.readRefresh(connection)]);
      if (!access || !refresh || refresh === UNUSABLE) throw notConnected();
      await this.tokens.changed(connection);
      return this.record(connection, { access, refresh }, UNSEALED);
    });
  }

  /** An API-key provider's connection: the record says it all (the key itself is never read for it). */
  private async keyStatus(connection: ConnectionId): Promise<StatusAnswer> {
    const record = await this.records.get(connection);
    if (!record) return NOT_CONNECTED;
    return { ...NOT_CONNECTED, status: record.status, reason: record.reason };
  }

  /** Saves an API-key provider's key for the account (api-keys.ts), and answers its status. */
  async saveKey(connection: ConnectionId, key: string): Promise<StatusAnswer> {
    const provider = this.providers.of(connection);
    if (provider.kind !== 'api_key') throw new BrokerError('invalid_request', 'This provider signs in with OAuth; it takes no API key.');
    await this.parts.apiKeys.save(connection, provider.api, provider.apiKey, key);
    return this.keyStatus(connection);
  }

  /** What is known of a connection, from its record and its newest tokens; a read only. */
  async status(connection: ConnectionId): Promise<StatusAnswer> {
    if (this.providers.of(connection).kind === 'api_key') return this.keyStatus(connection);
    const [record, newest] = await Promise.all([this.records.get(connection), this.tokens.newest(connection).catch((err: unknown) => {
      if (err instanceof BrokerError && err.code === 'sealing_key_missing') return undefined;
      throw err;
    })]);
    if (!newest) return this.keyMissingHere(connection, record);
    const degraded = (record?.failures ?? 0) > 0;
    const { access, refresh } = newest;
    const lost = (reason: LossReason | null): StatusAnswer => ({ ...NOT_CONNECTED, status: 'reconnect_required', last_refresh_at: record?.lastRefreshAt ?? null, reason });
    if (refresh === UNUSABLE) return lost('unusable_refresh_secret');
    const ended = refresh?.refresh_token === null && (!access || access.expires_at <= this.options.now());
    // While the Secret Store throttles this backend, refreshes wait their turn: degraded, and why.
    if (refresh && !ended) return this.parts.budget.isThrottled(connection.mode) ? { ...connectedAnswer({ access, refresh }, true), reason: 'secret_store_throttled' } : connectedAnswer({ access, refresh }, degraded);
    if (!record) return NOT_CONNECTED;
    // Recorded as connected but its secrets are gone (an expired refresh token, removed elsewhere).
    return lost(record.status === 'connected' ? 'secrets_missing' : record.reason);
  }

  /**
   * Sealed with a key this instance lacks: still connected (another instance, or this one with the
   * key added, refreshes it), degraded, and why. The plain access secret and the record say the rest.
   */
  private async keyMissingHere(connection: ConnectionId, record: ConnectionRecord | undefined): Promise<StatusAnswer> {
    const access = await this.tokens.readAccess(connection);
    return {
      ...connectedAnswer({ access }, true),
      refresh_expires_at: record?.refreshExpiresAt ?? null,
      last_refresh_at: record?.lastRefreshAt ?? null,
      reason: 'sealing_key_missing',
    };
  }

  /** The newest refresh token, when there is one the backend would redeem. */
  private async usableRefreshToken(connection: ConnectionId): Promise<string | undefined> {
    const { refresh } = await this.tokens.newest(connection);
    return refresh && refresh !== UNUSABLE ? (refresh.refresh_token ?? undefined) : undefined;
  }

  /** Best-effort revocation (RFC 7009): true when the provider confirmed it. */
  private async revoke(connection: ConnectionId, refreshToken: string): Promise<boolean> {
    const { oauth } = this.providers.oauth(connection);
    if (!oauth.canRevoke) return false;
    try {
      await this.metrics.providerCall('revocation', () => oauth.revoke(refreshToken, 'refresh_token'));
      return true;
    } catch (err) {
      this.logger.warn({ connection: connectionKey(connection), error: describeOAuthError(err) }, 'revocation failed');
      return false;
    }
  }

  /** Best-effort revocation of the grant, then both secrets go and the registry forgets; `by` says who asked. */
  async disconnect(connection: ConnectionId, by: DisconnectedBy = 'user'): Promise<{ status: 'not_connected'; revoked: boolean }> {
    return this.locked(connection, async () => {
      let revoked = false;
      if (this.providers.of(connection).kind === 'api_key') {
        await this.parts.apiKeys.remove(connection);
      } else {
        const refreshToken = await this.usableRefreshToken(connection).catch(() => undefined);
        revoked = refreshToken !== undefined && (await this.revoke(connection, refreshToken));
        await this.tokens.remove(connection);
      }
      await this.parts.states.removed(connection, by);
      this.logger.info({ connection: connectionKey(connection), outcome: 'disconnected', revoked, by }, 'disconnect');
      return { status: 'not_connected', revoked };
    });
  }

  /** Re-seals a connection's refresh secret with the current key and records which key it uses now. */
  async reseal(connection: ConnectionId): Promise<ResealOutcome['outcome']> {
    return this.parts.budget.run('cleanup', () => this.locked(connection, async () => {
      const record = await this.records.get(connection);
      if (!record) return 'missing';
      const { outcome, sealedWith } = await (this.providers.of(connection).kind === 'api_key' ? this.parts.apiKeys.reseal(connection) : this.tokens.reseal(connection));
      if (sealedWith && sealedWith !== record.sealedWith) await this.parts.states.update(connection, { sealedWith });
      return outcome;
    }));
  }

  /** An account's connections in one mode (with an account-wide connection, at most one), for the template's own server code too. */
  async connectionsOf(accountId: string, mode: StripeMode): Promise<ConnectionRecord[]> {
    return this.records.list({ accountId, mode, limit: 1000 });
  }

  /**
   * The app was uninstalled from an account in one mode: each known connection there is
   * disconnected (revoked, secrets deleted, forgotten), each on its own and best effort, since
   * the platform may no longer let the backend act on that account. Returns how many were known.
   */
  async disconnectAccount(accountId: string, mode: StripeMode): Promise<number> {
    const known = await this.connectionsOf(accountId, mode);
    for (const connection of known) {
      await this.disconnect(connection, 'deauthorization').catch(async (err: unknown) => {
        this.logger.warn({ connection: connectionKey(connection), err: describeError(err) }, 'uninstall clean-up incomplete; forgetting the connection');
        await this.parts.states.removed(connection, 'deauthorization');
      });
    }
    return known.length;
  }
}
