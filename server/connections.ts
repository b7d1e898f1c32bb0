/**
 * Connection lifecycle around the refresh engine: the backend-mode code exchange, registering
 * a connection the extension stored itself, status, and disconnect. Each holds the
 * connection's lock, so none of them interleaves with a refresh.
 */
import { tokenPayloads } from '../src/lib/token-layout';
import { Connection, connectionKey } from './connection';
import { HttpError, notConnected, providerRejected, providerUnavailable } from './http-error';
import type { Logger } from './logger';
import { classifyOAuthError, describeOAuthError, OAuthClient } from './oauth-client';
import type { RefreshEngine } from './refresh-engine';
import type { ConnectionRegistry } from './registry';
import type { Tokens, TokenStore } from './token-store';

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

  private async record(connection: Connection, tokens: Tokens): Promise<ConnectionState> {
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

  async exchange(connection: Connection, code: string, verifier: string, redirectUri: string): Promise<ConnectionState> {
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
      await this.tokens.write(connection, tokens);
      this.logger.info({ connection: connectionKey(connection), outcome: 'connected', refreshable: tokens.refresh.refresh_token !== null }, 'exchange');
      return this.record(connection, tokens);
    });
  }

  /** Extension mode: the extension wrote both secrets in its user scope; check they are there, then record them. */
  async register(connection: Connection): Promise<ConnectionState> {
    return this.engine.withLock(connection, async () => {
      const [access, refresh] = await Promise.all([this.tokens.readAccess(connection), this.tokens.readRefresh(connection)]);
      if (!access || !refresh) throw notConnected();
      return this.record(connection, { access, refresh });
    });
  }

  async status(connection: Connection): Promise<ConnectionState> {
    const [record, refresh, access] = await Promise.all([
      this.registry.get(connection),
      this.tokens.readRefresh(connection),
      this.tokens.readAccess(connection),
    ]);
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

  /** Best-effort revocation (RFC 7009) of the refresh token, then both secrets go and the registry forgets. */
  async disconnect(connection: Connection): Promise<{ status: 'not_connected'; revoked: boolean }> {
    return this.engine.withLock(connection, async () => {
      const refresh = await this.tokens.readRefresh(connection).catch(() => undefined);
      let revoked = false;
      if (refresh?.refresh_token && this.oauth.canRevoke) {
        try {
          await this.oauth.revoke(refresh.refresh_token, 'refresh_token');
          revoked = true;
        } catch (err) {
          this.logger.warn({ connection: connectionKey(connection), error: describeOAuthError(err) }, 'revocation failed; deleting the secrets anyway');
        }
      }
      await this.tokens.remove(connection);
      await this.registry.remove(connection);
      this.logger.info({ connection: connectionKey(connection), outcome: 'disconnected', revoked }, 'disconnect');
      return { status: 'not_connected', revoked };
    });
  }
}
