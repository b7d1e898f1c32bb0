/**
 * Connection lifecycle around the refresh engine: the backend-mode code exchange, registering
 * a connection the extension stored itself, status, and disconnect. Each holds the
 * connection's lock, so none of them interleaves with a refresh.
 */
import { tokenPayloads } from '../src/lib/token-layout';
import { ConnectionId, connectionKey } from '../src/lib/connection-id';
import { HttpError, notConnected, providerRejected, providerUnavailable } from './http-error';
import type { Logger } from './logger';
import { classifyOAuthError, describeOAuthError, OAuthClient } from './oauth-client';
import type { RefreshEngine } from './refresh-engine';
import type { ConnectionRegistry } from './registry';
import type { StripeMode } from '../src/lib/redirect-uri';
import { describeError, type Tokens, type TokenStore, UNUSABLE } from './token-store';

export interface ConnectionState {
  status: 'connected' | 'reconnect_required' | 'not_connected';
  access_expires_at: number | null;
  refresh_expires_at: number | null;
  last_refresh_at: number | null;
  scope: string | null;
}

const NOT_CONNECTED: ConnectionState = { status: 'not_connected', access_expires_at: null, refresh_expires_at: null, last_refresh_at: null, scope: null };

export class Connections {
  constructor(
    private readonly tokens: TokenStore,
    private readonly oauth: OAuthClient,
    private readonly engine: RefreshEngine,
    private readonly registry: ConnectionRegistry,
    private readonly logger: Logger,
    private readonly options: { defaultAccessLifetimeSeconds: number; now: () => number },
  ) {}

  private async record(connection: ConnectionId, tokens: Tokens): Promise<ConnectionState> {
    await this.registry.put(connection, {
      status: 'connected',
      accessExpiresAt: tokens.access.expires_at,
      refreshExpiresAt: tokens.refresh.expires_at,
      lastRefreshAt: tokens.refresh.refreshed_at,
    });
    return {
      status: 'connected',
      access_expires_at: tokens.access.expires_at,
      refresh_expires_at: tokens.refresh.expires_at,
      last_refresh_at: tokens.refresh.refreshed_at,
      scope: tokens.access.scope ?? null,
    };
  }

  async exchange(connection: ConnectionId, code: string, verifier: string, redirectUri: string): Promise<ConnectionState> {
    return this.engine.withLock(connection, async () => {
      let response;
      try {
        response = await this.oauth.exchangeCode(code, verifier, redirectUri);
      } catch (err) {
        const failure = classifyOAuthError(err);
        this.logger.info({ connection: connectionKey(connection), outcome: failure, error: describeOAuthError(err) }, 'exchange');
        if (failure === 'invalid_grant') {
          throw new HttpError(400, 'invalid_code', 'The provider rejected the authorization code (expired, already used, or a verifier or redirect URI mismatch).');
        }
        throw failure === 'rejected' ? providerRejected() : providerUnavailable();
      }
      const tokens = tokenPayloads(response, undefined, this.options.now(), this.options.defaultAccessLifetimeSeconds);
      const previous = await this.usableRefreshToken(connection).catch(() => undefined);
      await this.tokens.write(connection, tokens);
      this.logger.info({ connection: connectionKey(connection), outcome: 'connected', refreshable: tokens.refresh.refresh_token !== null }, 'exchange');
      // The new grant replaces the old one, which would otherwise stay valid at the provider.
      if (previous && previous !== tokens.refresh.refresh_token) await this.revoke(connection, previous);
      return this.record(connection, tokens);
    });
  }

  /** Extension mode: the extension wrote both secrets in its user scope; check they are there, then record them. */
  async register(connection: ConnectionId): Promise<ConnectionState> {
    return this.engine.withLock(connection, async () => {
      const [access, refresh] = await Promise.all([this.tokens.readAccess(connection), this.tokens.readRefresh(connection)]);
      if (!access || !refresh || refresh === UNUSABLE) throw notConnected();
      return this.record(connection, { access, refresh });
    });
  }

  async status(connection: ConnectionId): Promise<ConnectionState> {
    const [record, refresh, access] = await Promise.all([
      this.registry.get(connection),
      this.tokens.readRefresh(connection),
      this.tokens.readAccess(connection),
    ]);
    if (refresh === UNUSABLE) return { ...NOT_CONNECTED, status: 'reconnect_required', last_refresh_at: record?.lastRefreshAt ?? null };
    const ended = refresh?.refresh_token === null && (!access || access.expires_at <= this.options.now());
    if (refresh && !ended) {
      return {
        status: 'connected',
        access_expires_at: access?.expires_at ?? null,
        refresh_expires_at: refresh.expires_at,
        last_refresh_at: refresh.refreshed_at,
        scope: access?.scope ?? null,
      };
    }
    if (!record) return NOT_CONNECTED;
    if (record.status === 'connected') {
      // Recorded but its secrets are gone (expired refresh token, removed elsewhere).
      await this.registry.put(connection, { status: 'reconnect_required', accessExpiresAt: null, refreshExpiresAt: null, lastRefreshAt: record.lastRefreshAt });
    }
    return { ...NOT_CONNECTED, status: 'reconnect_required', last_refresh_at: record.lastRefreshAt };
  }

  /** The stored refresh token, when there is one the backend would redeem. */
  private async usableRefreshToken(connection: ConnectionId): Promise<string | undefined> {
    const refresh = await this.tokens.readRefresh(connection);
    return refresh && refresh !== UNUSABLE ? (refresh.refresh_token ?? undefined) : undefined;
  }

  /** Best-effort revocation (RFC 7009): true when the provider confirmed it. */
  private async revoke(connection: ConnectionId, refreshToken: string): Promise<boolean> {
    if (!this.oauth.canRevoke) return false;
    try {
      await this.oauth.revoke(refreshToken, 'refresh_token');
      return true;
    } catch (err) {
      this.logger.warn({ connection: connectionKey(connection), error: describeOAuthError(err) }, 'revocation failed');
      return false;
    }
  }

  /** Best-effort revocation of the grant, then both secrets go and the registry forgets. */
  async disconnect(connection: ConnectionId): Promise<{ status: 'not_connected'; revoked: boolean }> {
    return this.engine.withLock(connection, async () => {
      const refreshToken = await this.usableRefreshToken(connection).catch(() => undefined);
      const revoked = refreshToken !== undefined && (await this.revoke(connection, refreshToken));
      await this.tokens.remove(connection);
      await this.registry.remove(connection);
      this.logger.info({ connection: connectionKey(connection), outcome: 'disconnected', revoked }, 'disconnect');
      return { status: 'not_connected', revoked };
    });
  }

  /**
   * The app was uninstalled from an account in one mode: each known connection there is
   * disconnected (revoked, secrets deleted, forgotten), each on its own and best effort, since
   * the platform may no longer let the backend act on that account. Returns how many were known.
   */
  async disconnectAccount(accountId: string, mode: StripeMode): Promise<number> {
    const known = await this.registry.listAccount(accountId, mode);
    for (const connection of known) {
      await this.disconnect(connection).catch(async (err: unknown) => {
        this.logger.warn({ connection: connectionKey(connection), err: describeError(err) }, 'uninstall clean-up incomplete; forgetting the connection');
        await this.registry.remove(connection);
      });
    }
    return known.length;
  }
}
