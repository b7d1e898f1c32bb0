/**
 * The provider side, through openid-client: code exchange, refresh and revocation, plus the
 * failure classification that decides what a refresh error means for the connection.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as client from 'openid-client';
import { isLoopbackUrl } from '../../src/common/loopback';
import type { TokenResponse } from '../../src/common/token-layout';
import { readLimited } from './read-limited';

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
 * - `unknown_outcome`: the request may have been processed (timeout, dropped connection, a 200
 *   that holds no tokens). It is not retried at once: if the provider rotated the refresh token,
 *   a retry with the old one would be a reuse and could revoke the whole grant.
 */
export type OAuthFailure = 'invalid_grant' | 'rejected' | 'retryable' | 'unknown_outcome';

/**
 * A 200 from the token endpoint that cannot be read as a token response (not JSON, no
 * `access_token`, cut short, too large): the provider processed the grant — a refresh token may
 * have rotated — so it is a lost answer, not a refusal. The message says why, never the body.
 */
export class UnreadableAnswer extends Error {}

/** Any other answer (an error, discovery, revocation) larger than the bound: not read, and nothing issued by it. */
export class OversizedAnswer extends Error {}

export function classifyOAuthError(err: unknown): OAuthFailure {
  if (err instanceof UnreadableAnswer) return 'unknown_outcome';
  if (err instanceof OversizedAnswer || (err instanceof client.ClientError && err.cause instanceof OversizedAnswer)) return 'retryable';
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
  if (err instanceof UnreadableAnswer) return `unreadable answer: ${err.message}`;
  if (err instanceof OversizedAnswer) return err.message;
  if (err instanceof client.ResponseBodyError) return `${err.error} (HTTP ${err.status})`;
  // openid-client wraps an error it does not recognise without a code: the wrapped one says more.
  if (err instanceof client.ClientError && err.code === undefined) return describeOAuthError(err.cause);
  if (err instanceof client.ClientError) return `${err.code}${(err.cause as { status?: number })?.status ? ` (HTTP ${(err.cause as { status: number }).status})` : ''}`;
  if (err instanceof TypeError) return `network: ${(err.cause as { code?: string } | undefined)?.code ?? 'fetch failed'}`;
  return 'unexpected error';
}

function numeric(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}

function toTokenResponse(response: Record<string, unknown>): TokenResponse {
  return {
    access_token: response.access_token as string,
    token_type: typeof response.token_type === 'string' ? response.token_type : 'bearer',
    scope: typeof response.scope === 'string' ? response.scope : undefined,
    expires_in: numeric(response.expires_in),
    refresh_token: typeof response.refresh_token === 'string' ? response.refresh_token : undefined,
    refresh_token_expires_in: numeric(response.refresh_token_expires_in) ?? numeric(response.x_refresh_token_expires_in),
  };
}

/**
 * A token endpoint's answer. `problem` when it carried tokens but failed openid-client's checks
 * (an ID token outside the clock tolerance, another issuer): the tokens are still the provider's
 * answer — the refresh token they replace is spent — so they are kept, and the problem reported.
 */
export interface GrantAnswer {
  tokens: TokenResponse;
  problem?: string;
  /** The ID token's `sub`, when the answer has one: whose tokens these are. */
  subject?: string;
}

/** The clock ID tokens are checked by, fed by the provider's `Date` headers (clock.ts). */
export interface ProviderClock {
  observeProvider(date: string | null, sentMs: number, receivedMs: number): void;
  /** Seconds the provider's clock is ahead of this machine's. */
  readonly providerOffsetSeconds: number;
}

const UNCORRECTED: ProviderClock = { observeProvider: () => undefined, providerOffsetSeconds: 0 };

/**
 * Gets a grant's 200 body as it came, once its last byte is in and before anything reads it (the
 * refresh engine makes it durable there); resolves when it may be read.
 */
export type KeepAnswer = (raw: string) => Promise<void>;

/** One grant request's 200 answer: that it came, and its body, kept aside in case openid-client refuses it. */
interface Answered {
  ok?: true;
  raw?: string;
  keep?: KeepAnswer;
}

const answered = new AsyncLocalStorage<Answered>();

/** Far above any token response whose tokens fit the Secret Store (5000 characters a payload), ID token included. */
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

/** A grant's 200 answer, read here within the bound, kept, and handed on to openid-client as read. */
async function readAnswer(response: Response, capture: Answered): Promise<Response> {
  capture.ok = true;
  const text = await readLimited(response, MAX_TOKEN_RESPONSE_BYTES);
  if (text === undefined) throw new UnreadableAnswer(`larger than ${MAX_TOKEN_RESPONSE_BYTES} bytes`);
  capture.raw = text;
  await capture.keep?.(text);
  return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** Every other answer of the provider (errors, discovery, revocation) read within the same bound. */
async function bounded(response: Response): Promise<Response> {
  const text = await readLimited(response, MAX_TOKEN_RESPONSE_BYTES);
  if (text === undefined) throw new OversizedAnswer(`answer larger than ${MAX_TOKEN_RESPONSE_BYTES} bytes (HTTP ${response.status})`);
  return new Response(response.status === 204 || response.status === 304 ? null : text, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * A 200 body read without openid-client's checks: its tokens, and the unverified `sub` of its ID
 * token (still compared with the connection's). Undefined when it holds no access token.
 */
export function unverifiedAnswer(raw: string): GrantAnswer | undefined {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!body || typeof body !== 'object' || typeof (body as { access_token?: unknown }).access_token !== 'string') return undefined;
  const response = body as Record<string, unknown>;
  return { tokens: toTokenResponse(response), subject: unverifiedSubject(response.id_token) };
}

interface ClientSettings {
  metadata: client.ServerMetadata;
  clientId: string;
  auth: client.ClientAuth;
  insecure: boolean;
  timeoutSeconds: number;
  fetch: client.CustomFetch;
  clock: ProviderClock;
}

export class OAuthClient {
  private config!: client.Configuration;
  private clockSkew = 0;

  private constructor(
    private readonly settings: ClientSettings,
    /** A confidential client: its refresh tokens are worth stealing, so only sealed ones are redeemed. */
    readonly hasClientSecret: boolean,
  ) {
    this.configure();
  }

  /**
   * By OIDC discovery from the issuer, or from explicit endpoints when a token endpoint is set —
   * then an issuer, if set too, is the `iss` the provider's ID tokens carry (it can differ from the
   * token endpoint's host, as Google's does), checked without discovery. http only on loopback.
   */
  static async create(provider: ProviderOptions, clock: ProviderClock = UNCORRECTED): Promise<OAuthClient> {
    const auth = provider.clientSecret
      ? provider.clientAuth === 'client_secret_basic'
        ? client.ClientSecretBasic(provider.clientSecret)
        : client.ClientSecretPost(provider.clientSecret)
      : client.None();
    const target = provider.tokenEndpoint ?? provider.issuer!;
    const insecure = target.protocol === 'http:' && isLoopbackUrl(target);
    const observingFetch: client.CustomFetch = async (url, options) => {
      const sent = Date.now();
      const response = await fetch(url, options as RequestInit);
      clock.observeProvider(response.headers.get('date'), sent, Date.now());
      const capture = answered.getStore();
      return capture && response.status === 200 ? readAnswer(response, capture) : bounded(response);
    };
    let metadata: client.ServerMetadata;
    if (!provider.tokenEndpoint) {
      const discovered = await client.discovery(provider.issuer!, provider.clientId, undefined, auth, {
        execute: insecure ? [client.allowInsecureRequests] : [],
        timeout: provider.timeoutSeconds,
        [client.customFetch]: observingFetch,
      });
      metadata = discovered.serverMetadata();
    } else {
      // An issuer given as an origin is written without the slash URL parsing adds, as `iss` values are.
      const issuer = provider.issuer ? (provider.issuer.pathname === '/' ? provider.issuer.origin : provider.issuer.href) : provider.tokenEndpoint.origin;
      metadata = { issuer, token_endpoint: provider.tokenEndpoint.toString(), revocation_endpoint: provider.revocationEndpoint?.toString() };
    }
    const settings = { metadata, clientId: provider.clientId, auth, insecure, timeoutSeconds: provider.timeoutSeconds, fetch: observingFetch, clock };
    return new OAuthClient(settings, Boolean(provider.clientSecret));
  }

  private configure(): void {
    const { metadata, clientId, auth, insecure, timeoutSeconds, fetch } = this.settings;
    const config = new client.Configuration(metadata, clientId, { [client.clockSkew]: this.clockSkew }, auth);
    if (insecure) client.allowInsecureRequests(config);
    config.timeout = timeoutSeconds;
    config[client.customFetch] = fetch;
    this.config = config;
  }

  /** ID tokens are checked by the provider's clock as measured, so a machine whose clock is off does not refuse every answer. */
  private followClock(): void {
    const seconds = this.settings.clock.providerOffsetSeconds;
    if (seconds === this.clockSkew) return;
    this.clockSkew = seconds;
    this.configure();
  }

  /**
   * A grant request whose 200 answer is kept even when openid-client refuses to process it; a
   * 200 without tokens is an `UnreadableAnswer`, however openid-client (or the read) failed.
   */
  private async grant(request: () => Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers>, keep?: KeepAnswer): Promise<GrantAnswer> {
    this.followClock();
    const capture: Answered = { keep };
    try {
      const response = await answered.run(capture, request);
      return { tokens: toTokenResponse(response), subject: response.claims()?.sub };
    } catch (err) {
      const kept = capture.raw === undefined ? undefined : unverifiedAnswer(capture.raw);
      if (kept) return { ...kept, problem: describeOAuthError(err) };
      if (!capture.ok) throw err;
      // openid-client wraps what the fetch threw (the bound) in an error of its own.
      throw err instanceof client.ClientError && err.cause instanceof UnreadableAnswer ? err.cause : new UnreadableAnswer(describeOAuthError(err));
    }
  }

  /** Stripe's PKCE flow hands back no `iss`, so the code is exchanged with a plain grant request. */
  exchangeCode(code: string, codeVerifier: string, redirectUri: string): Promise<GrantAnswer> {
    return this.grant(() => client.genericGrantRequest(this.config, 'authorization_code', { code, code_verifier: codeVerifier, redirect_uri: redirectUri }));
  }

  /** `keep` gets the 200 body before openid-client reads it. */
  refresh(refreshToken: string, keep?: KeepAnswer): Promise<GrantAnswer> {
    return this.grant(() => client.refreshTokenGrant(this.config, refreshToken), keep);
  }

  get canRevoke(): boolean {
    return Boolean(this.config.serverMetadata().revocation_endpoint);
  }

  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<void> {
    await client.tokenRevocation(this.config, token, { token_type_hint: hint });
  }
}

/** The `sub` of an ID token that failed openid-client's checks: still the answer's, so still compared with the connection's. */
function unverifiedSubject(idToken: unknown): string | undefined {
  if (typeof idToken !== 'string') return undefined;
  try {
    const { sub } = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}
