/**
 * The provider side, through openid-client: code exchange, refresh and revocation, plus the
 * failure classification that decides what a refresh error means for the connection.
 */
import * as client from 'openid-client';
import { isLoopbackUrl } from '../../src/shared/loopback';
import type { TokenResponse } from '../../src/shared/token-layout';

/** The provider client: by discovery from `issuer`, or from explicit endpoints. */
export interface ProviderOptions {
  issuer?: URL;
  tokenEndpoint?: URL;
  revocationEndpoint?: URL;
  clientId: string;
  clientSecret?: string;
  clientAuth: 'client_secret_post' | 'client_secret_basic';
  timeoutSeconds: number;
}

/**
 * - `invalid_grant`: the refresh token (or code) is not accepted — permanent only once a re-read
 *   shows nobody else rotated it meanwhile;
 * - `rejected`: the client itself is refused or misconfigured (invalid_client, invalid_scope…);
 * - `retryable`: the provider answered that it did not process the request (429, 5xx) or could
 *   not be reached at all;
 * - `unknown_outcome`: the request may have been processed (timeout, dropped connection). It is
 *   not retried at once: if the provider rotated the refresh token, a retry with the old one
 *   would be a reuse and could revoke the whole grant.
 */
export type OAuthFailure = 'invalid_grant' | 'rejected' | 'retryable' | 'unknown_outcome';

export function classifyOAuthError(err: unknown): OAuthFailure {
  if (err instanceof client.ResponseBodyError) {
    if (err.error === 'invalid_grant') return 'invalid_grant';
    if (err.error === 'temporarily_unavailable' || err.error === 'slow_down' || err.status === 429 || err.status >= 500) return 'retryable';
    return 'rejected';
  }
  if (err instanceof client.ClientError) {
    if (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT') return 'unknown_outcome';
    const status = (err.cause as { status?: number } | undefined)?.status;
    if (err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' && status !== undefined && (status === 429 || status >= 500)) return 'retryable';
    return 'rejected';
  }
  if (err instanceof TypeError) {
    // fetch failed: refused or unresolvable means nothing was sent.
    const code = (err.cause as { code?: string } | undefined)?.code;
    return code === 'ECONNREFUSED' || code === 'ENOTFOUND' ? 'retryable' : 'unknown_outcome';
  }
  return 'rejected';
}

/** A short description for logs: error codes and statuses only, never response bodies. */
export function describeOAuthError(err: unknown): string {
  if (err instanceof client.ResponseBodyError) return `${err.error} (HTTP ${err.status})`;
  if (err instanceof client.ClientError) return `${err.code}${(err.cause as { status?: number })?.status ? ` (HTTP ${(err.cause as { status: number }).status})` : ''}`;
  if (err instanceof TypeError) return `network: ${(err.cause as { code?: string } | undefined)?.code ?? 'fetch failed'}`;
  return 'unexpected error';
}

function numeric(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}

function toTokenResponse(response: client.TokenEndpointResponse): TokenResponse {
  return {
    access_token: response.access_token,
    token_type: response.token_type,
    scope: response.scope,
    expires_in: numeric(response.expires_in),
    refresh_token: response.refresh_token,
    refresh_token_expires_in: numeric(response.refresh_token_expires_in) ?? numeric(response.x_refresh_token_expires_in),
  };
}

export class OAuthClient {
  private constructor(
    private readonly config: client.Configuration,
    /** A confidential client: its refresh tokens are worth stealing, so only sealed ones are redeemed. */
    readonly hasClientSecret: boolean,
  ) {}

  /**
   * By OIDC discovery from the issuer, or from explicit endpoints when a token endpoint is set —
   * then an issuer, if set too, is the `iss` the provider's ID tokens carry (it can differ from the
   * token endpoint's host, as Google's does), checked without discovery. http only on loopback.
   */
  static async create(provider: ProviderOptions): Promise<OAuthClient> {
    const auth = provider.clientSecret
      ? provider.clientAuth === 'client_secret_basic'
        ? client.ClientSecretBasic(provider.clientSecret)
        : client.ClientSecretPost(provider.clientSecret)
      : client.None();
    const target = provider.tokenEndpoint ?? provider.issuer!;
    const insecure = target.protocol === 'http:' && isLoopbackUrl(target);
    let config: client.Configuration;
    if (!provider.tokenEndpoint) {
      config = await client.discovery(provider.issuer!, provider.clientId, undefined, auth, {
        execute: insecure ? [client.allowInsecureRequests] : [],
        timeout: provider.timeoutSeconds,
      });
    } else {
      // An issuer given as an origin is written without the slash URL parsing adds, as `iss` values are.
      const issuer = provider.issuer ? (provider.issuer.pathname === '/' ? provider.issuer.origin : provider.issuer.href) : provider.tokenEndpoint.origin;
      const metadata: client.ServerMetadata = {
        issuer,
        token_endpoint: provider.tokenEndpoint.toString(),
        revocation_endpoint: provider.revocationEndpoint?.toString(),
      };
      config = new client.Configuration(metadata, provider.clientId, undefined, auth);
      if (insecure) client.allowInsecureRequests(config);
    }
    config.timeout = provider.timeoutSeconds;
    return new OAuthClient(config, Boolean(provider.clientSecret));
  }

  /** Stripe's PKCE flow hands back no `iss`, so the code is exchanged with a plain grant request. */
  async exchangeCode(code: string, codeVerifier: string, redirectUri: string): Promise<TokenResponse> {
    const response = await client.genericGrantRequest(this.config, 'authorization_code', {
      code,
      code_verifier: codeVerifier,
      redirect_uri: redirectUri,
    });
    return toTokenResponse(response);
  }

  async refresh(refreshToken: string): Promise<TokenResponse> {
    return toTokenResponse(await client.refreshTokenGrant(this.config, refreshToken));
  }

  get canRevoke(): boolean {
    return Boolean(this.config.serverMetadata().revocation_endpoint);
  }

  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<void> {
    await client.tokenRevocation(this.config, token, { token_type_hint: hint });
  }
}
