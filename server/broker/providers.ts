/**
 * The providers a broker serves: the one unnamed provider of the plain OAUTH_* variables, or the
 * named ones of OAUTH_PROVIDERS (docs/services.md). Each connection is to one of them
 * (`ConnectionId.provider`); this is where its OAuth client, token lifetime and API settings are
 * found. An API-key provider has no OAuth client: its one credential is a key the account saved.
 */
import type { ConnectionId } from '../../src/common/connection-id';
import { BrokerError } from './errors';
import type { OAuthClient } from './oauth-client';
import type { ProviderApiOptions } from './provider-api';

/** How an API-key provider takes its key, and where a key is tried before it is saved. */
export interface ApiKeyOptions {
  /** The request header the key goes in (`authorization` by default). */
  header: string;
  /** Put before the key in that header (`Bearer ` for Authorization, else nothing). */
  prefix: string;
  /** A GET under the API base that answers 401/403 to a key the provider does not take. */
  verifyPath: string;
}

export type Provider = {
  /** Absent for the unnamed provider. */
  name?: string;
  api: ProviderApiOptions;
} & (
  | { kind: 'oauth'; oauth: OAuthClient; defaultAccessLifetimeSeconds: number }
  | { kind: 'api_key'; apiKey: ApiKeyOptions }
);

export type OAuthProvider = Extract<Provider, { kind: 'oauth' }>;

export class Providers {
  private readonly byName = new Map<string, Provider>();

  constructor(list: Provider[]) {
    for (const provider of list) this.byName.set(provider.name ?? '', provider);
  }

  get all(): Provider[] {
    return [...this.byName.values()];
  }

  /** The named providers' names (none when the one provider is unnamed). */
  get names(): string[] {
    return this.all.flatMap((p) => (p.name ? [p.name] : []));
  }

  /** The provider a `provider` parameter names: optional while there is one, else one of the names. */
  named(param: unknown): Provider {
    if (param === undefined && this.byName.size === 1) return this.all[0];
    const provider = typeof param === 'string' && param !== '' ? this.byName.get(param) : undefined;
    if (provider) return provider;
    const choices = this.names.length > 0 ? `one of ${this.names.join(', ')}` : 'omitted (this backend has one provider)';
    throw new BrokerError('invalid_request', `provider must be ${choices}.`);
  }

  of(connection: ConnectionId): Provider {
    const provider = this.byName.get(connection.provider ?? '');
    if (!provider) throw new BrokerError('invalid_request', `This backend has no provider ${connection.provider ?? '(unnamed)'}.`);
    return provider;
  }

  /** The connection's OAuth provider; an API-key provider has no grant to exchange, refresh or revoke. */
  oauth(connection: ConnectionId): OAuthProvider {
    const provider = this.of(connection);
    if (provider.kind !== 'oauth') throw new BrokerError('invalid_request', `${provider.name} takes an API key, not an OAuth sign-in.`);
    return provider;
  }
}
