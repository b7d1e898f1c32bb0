/**
 * API-key providers (OAUTH_<NAME>_KIND=api_key; docs/services.md). An account has one key per
 * provider and mode, saved by any of its users and used for them all: an account-scope secret,
 * as Stripe documents third-party API keys, sealed like a refresh token. A key is tried with one
 * GET of the provider's verify path before it is saved; a 401 or 403 there refuses it and nothing
 * is stored. It then serves `/api/proxy` and server-side calls as an access token does, with no
 * refresh: when the API answers 401 to it, the connection is reconnect_required
 * (`api_key_rejected`) until a key is saved again. The key never leaves the backend but to the
 * provider.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { type ConnectionId, connectionKey } from '../../src/common/connection-id';
import { type AccessPayload, apiKeySecretName, fitPayload } from '../../src/common/token-layout';
import { CONNECTED, type ConnectionRecords } from '../storage/ports';
import type { AccessCache } from './access-cache';
import { type LockTimes, withLock } from './connection-lock';
import type { ConnectionStates } from './connection-state';
import { BrokerError, notConnected, reconnectRequired, sealingKeyMissing } from './errors';
import type { LockManager } from '../storage/locks';
import type { ApiKeyOptions } from './providers';
import type { ProviderApiOptions } from './provider-api';
import type { SecretStoreClients } from './secret-store';
import { KeyNotHereError, TokenSealer } from './token-sealing';
import type { ResealOutcome, TokenStore } from './token-store';

export interface ApiKeyParts {
  secrets: SecretStoreClients;
  sealer: TokenSealer;
  records: ConnectionRecords;
  states: ConnectionStates;
  tokens: TokenStore;
  cache: AccessCache;
  locks: LockManager;
  logger: Logger;
  now: () => number;
  lock: LockTimes;
}

interface KeyPayload {
  v: 1;
  api_key: string;
  saved_at: number;
}

export const apiKeyRejected = () =>
  new BrokerError('invalid_api_key', 'The provider refused this API key (401/403 at its verify path); nothing was saved.');

export class ApiKeys {
  constructor(private readonly parts: ApiKeyParts) {}

  /** The key in its header, as the provider takes it. */
  static header(options: ApiKeyOptions, key: string): [string, string] {
    return [options.header, `${options.prefix}${key}`];
  }

  /** One GET of the verify path with the key: 2xx takes it, 401/403 refuses it, anything else says nothing (503). */
  private async verify(api: ProviderApiOptions, options: ApiKeyOptions, key: string): Promise<void> {
    const base = api.bases[0];
    const url = new URL((base.href.endsWith('/') ? base.href : `${base.href}/`) + options.verifyPath.slice(1));
    let status: number;
    try {
      const response = await fetch(url, { headers: [ApiKeys.header(options, key)], redirect: 'manual', signal: AbortSignal.timeout(api.timeoutMs) });
      status = response.status;
      await response.body?.cancel();
    } catch {
      throw new BrokerError('upstream_unreachable', "The provider's API could not be reached to verify the key; nothing was saved.");
    }
    if (status === 401 || status === 403) throw apiKeyRejected();
    if (status < 200 || status > 299) throw new BrokerError('upstream_unreachable', `The provider's API answered ${status} at the verify path, so the key could not be verified; nothing was saved.`);
  }

  /** Verifies the key, then saves it (replacing any) and records the account's connection. */
  async save(connection: ConnectionId, api: ProviderApiOptions, options: ApiKeyOptions, key: string): Promise<void> {
    await this.verify(api, options, key);
    await withLock(this.parts.locks, connection, this.parts.lock, async () => {
      const name = apiKeySecretName(connection.provider!);
      const payload: KeyPayload = { v: 1, api_key: key, saved_at: this.parts.now() };
      const sealed = fitPayload(name, this.parts.sealer.seal(JSON.stringify(payload), connection, name));
      await this.parts.secrets.forConnection(connection).write(name, sealed, null, `${randomUUID()}:api_key`);
      await this.parts.tokens.changed(connection);
      await this.parts.states.connected(connection, { ...CONNECTED, sealedWith: this.parts.sealer.currentKeyId });
      this.parts.logger.info({ connection: connectionKey(connection), outcome: 'connected' }, 'api key saved');
    });
  }

  /**
   * The saved key, as an access token for the API (it never expires): from the cache, else the
   * record (a rejected key is reconnect_required) and the secret.
   */
  async key(connection: ConnectionId): Promise<AccessPayload> {
    const cacheKey = connectionKey(connection);
    const cached = this.parts.cache.get(cacheKey, this.parts.now());
    if (cached) return cached;
    const ticket = this.parts.cache.ticket(cacheKey);
    const record = await this.parts.records.get(connection);
    if (!record) throw notConnected();
    if (record.status === 'reconnect_required') throw reconnectRequired();
    const name = apiKeySecretName(connection.provider!);
    const text = await this.parts.secrets.forConnection(connection).read(name);
    if (text === undefined) throw notConnected();
    const saved = this.open(connection, name, text);
    const access: AccessPayload = { v: 1, access_token: saved.api_key, token_type: 'api_key', issued_at: saved.saved_at, expires_at: Number.MAX_SAFE_INTEGER, generation: 0 };
    this.parts.cache.set(cacheKey, access, Infinity, ticket);
    return access;
  }

  /** The saved key; sealed with a key this instance lacks, 503 `sealing_key_missing` (nothing is lost: it opens where the key is). */
  private open(connection: ConnectionId, name: string, text: string): KeyPayload {
    try {
      return JSON.parse(this.parts.sealer.open(text, connection, name)) as KeyPayload;
    } catch (err) {
      if (err instanceof KeyNotHereError) throw sealingKeyMissing();
      throw err;
    }
  }

  /** Re-seals the saved key with the current sealing key (after a rotation of TOKEN_SEALING_KEYS), as refresh secrets are. Under the lock. */
  async reseal(connection: ConnectionId): Promise<ResealOutcome> {
    const name = apiKeySecretName(connection.provider!);
    const secrets = this.parts.secrets.forConnection(connection);
    const text = await secrets.read(name);
    if (text === undefined) return { outcome: 'missing' };
    const keyId = TokenSealer.keyIdOf(text);
    if (keyId === this.parts.sealer.currentKeyId) return { outcome: 'current', sealedWith: keyId };
    if (keyId === undefined || !this.parts.sealer.holds(keyId)) return { outcome: keyId === undefined ? 'unusable' : 'key_missing' };
    const sealed = fitPayload(name, this.parts.sealer.seal(JSON.stringify(this.open(connection, name, text)), connection, name));
    await secrets.write(name, sealed, null, `${randomUUID()}:reseal`);
    await this.parts.tokens.changed(connection);
    return { outcome: 'resealed', sealedWith: this.parts.sealer.currentKeyId };
  }

  /** The API answered 401 to `rejected`: the connection needs a new key, unless another was saved meanwhile. */
  async rejected(connection: ConnectionId, rejected: string): Promise<void> {
    await withLock(this.parts.locks, connection, this.parts.lock, async () => {
      await this.parts.tokens.changed(connection);
      const current = await this.key(connection).catch(() => undefined);
      if (current?.access_token !== rejected) return;
      await this.parts.states.update(connection, { status: 'reconnect_required', reason: 'api_key_rejected' });
      await this.parts.tokens.changed(connection);
      this.parts.logger.warn({ connection: connectionKey(connection), outcome: 'reconnect_required', reason: 'api_key_rejected' }, 'connection lost');
    });
  }

  /** The key goes, and the registry forgets the connection. Under the lock. */
  async remove(connection: ConnectionId): Promise<void> {
    await this.parts.secrets.forConnection(connection).remove(apiKeySecretName(connection.provider!));
    await this.parts.tokens.changed(connection);
  }
}
