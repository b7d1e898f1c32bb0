/**
 * The token layout, shared by the extension and the backend: which secrets hold a
 * connection's tokens, what their payloads look like, and when an access token counts as due.
 *
 * Two user-scoped secrets per connection, because the store deletes a secret at `expires_at`:
 * the access secret expires with the access token, the refresh secret only with the refresh
 * token (or never), so the refresh token never vanishes with the access token. A third,
 * short-lived one holds the OAuth state of a sign-in in progress (the extension's memory does
 * not survive the redirect through the provider).
 */

export const SECRET_NAMES = { access: 'oauth.access', refresh: 'oauth.refresh', state: 'oauth.state' } as const;

/**
 * A provider's two token secrets: a named provider's carry its name (OAUTH_PROVIDERS), the
 * unnamed one's the names they always had. The sign-in state is one secret for all of them.
 */
export const secretNames = (provider?: string): { access: string; refresh: string } =>
  provider ? { access: `oauth.${provider}.access`, refresh: `oauth.${provider}.refresh` } : { access: SECRET_NAMES.access, refresh: SECRET_NAMES.refresh };

/** An API-key provider's one secret, in the account's scope. */
export const apiKeySecretName = (provider: string) => `apikey.${provider}`;

/** How long an issued OAuth state stays valid in its secret (the sign-in must finish by then). */
export const STATE_LIFETIME_SECONDS = 15 * 60;

/** The Secret Store's payload limit (spec `maxLength`); a bigger token is an error, never truncated. */
export const MAX_PAYLOAD_CHARS = 5000;

/** Secrets one scope holds at most (Stripe's documented limit). */
export const MAX_SECRETS_PER_SCOPE = 10;

export interface AccessPayload {
  v: 1;
  access_token: string;
  token_type: string;
  scope?: string;
  /** Unix seconds. */
  issued_at: number;
  expires_at: number;
  generation: number;
}

export interface RefreshPayload {
  v: 1;
  /** Null for providers that issue no refresh tokens: the connection then ends with its access token. */
  refresh_token: string | null;
  /** Unix seconds, when the provider said so; else null. */
  expires_at: number | null;
  generation: number;
  refreshed_at: number;
  /** The access tokens' last known lifetime, for responses that omit `expires_in`. */
  access_lifetime: number;
}

export class TokenTooLargeError extends Error {
  constructor(readonly secret: string, readonly size: number) {
    super(`The ${secret} payload is ${size} characters; the Secret Store holds at most ${MAX_PAYLOAD_CHARS}.`);
  }
}

export class MalformedPayloadError extends Error {}

/** The payload as stored, or TokenTooLargeError when it does not fit. */
export function fitPayload(secret: string, text: string): string {
  if (text.length > MAX_PAYLOAD_CHARS) throw new TokenTooLargeError(secret, text.length);
  return text;
}

export function encodePayload(secret: string, payload: AccessPayload | RefreshPayload): string {
  return fitPayload(secret, JSON.stringify(payload));
}

function parse(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MalformedPayloadError('Stored token payload is not JSON.');
  }
  if (typeof value !== 'object' || value === null || (value as { v?: unknown }).v !== 1) {
    throw new MalformedPayloadError('Stored token payload has an unknown format.');
  }
  return value as Record<string, unknown>;
}

export function decodeAccess(text: string): AccessPayload {
  const p = parse(text);
  if (typeof p.access_token !== 'string' || typeof p.expires_at !== 'number' || typeof p.generation !== 'number') {
    throw new MalformedPayloadError('Stored access payload is missing fields.');
  }
  return p as unknown as AccessPayload;
}

export function decodeRefresh(text: string): RefreshPayload {
  const p = parse(text);
  if ((typeof p.refresh_token !== 'string' && p.refresh_token !== null) || typeof p.generation !== 'number') {
    throw new MalformedPayloadError('Stored refresh payload is missing fields.');
  }
  return p as unknown as RefreshPayload;
}

/** The `exp` claim of a JWT access token, if the token is a JWT with one. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), '=')));
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? Math.floor(claims.exp) : undefined;
  } catch {
    return undefined;
  }
}

export interface ExpiryInput {
  now: number;
  accessToken: string;
  expiresIn?: number;
  /** The last known lifetime, from an earlier response that had `expires_in`. */
  lastLifetime?: number;
  defaultLifetime: number;
}

/**
 * When a new access token expires. Without `expires_in`: the JWT `exp`, else the last known
 * lifetime, else the configured default — never "already expired", which would refresh (and
 * burn a rotating refresh token) on every call.
 */
export function accessExpiry(input: ExpiryInput): { expiresAt: number; lifetime: number } {
  const { now } = input;
  if (input.expiresIn !== undefined && input.expiresIn > 0) return { expiresAt: now + input.expiresIn, lifetime: input.expiresIn };
  const exp = jwtExpiry(input.accessToken);
  if (exp !== undefined && exp > now) return { expiresAt: exp, lifetime: exp - now };
  const lifetime = input.lastLifetime && input.lastLifetime > 0 ? input.lastLifetime : input.defaultLifetime;
  return { expiresAt: now + lifetime, lifetime };
}

/** Refresh-ahead margin: the configured margin, but never more than half the token's lifetime. */
export function refreshMargin(lifetime: number, configuredMargin: number): number {
  return Math.min(configuredMargin, Math.max(0, lifetime) / 2);
}

/** When the access token enters its refresh margin. `jitter` in [0, 1) shortens the margin by up to 20 %. */
export function dueAt(access: Pick<AccessPayload, 'issued_at' | 'expires_at'>, configuredMargin: number, jitter = 0): number {
  return access.expires_at - refreshMargin(access.expires_at - access.issued_at, configuredMargin) * (1 - 0.2 * jitter);
}

/** True when the access token is within its refresh margin (or past expiry). */
export function isDue(access: Pick<AccessPayload, 'issued_at' | 'expires_at'>, now: number, configuredMargin: number, jitter = 0): boolean {
  return now >= dueAt(access, configuredMargin, jitter);
}

/** The fields of a token endpoint response that the layout keeps. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  scope?: string;
  expires_in?: number;
  refresh_token?: string;
  /** Some providers say when the refresh token expires (Microsoft, Xero: `x_refresh_token_expires_in`). */
  refresh_token_expires_in?: number;
}

/**
 * The two payloads after an exchange (no `previous`) or a refresh. A refresh response without
 * `refresh_token` keeps the old one, and with it the old refresh expiry.
 */
export function tokenPayloads(
  response: TokenResponse,
  previous: RefreshPayload | undefined,
  now: number,
  defaultLifetime: number,
): { access: AccessPayload; refresh: RefreshPayload } {
  const generation = (previous?.generation ?? 0) + 1;
  const { expiresAt, lifetime } = accessExpiry({
    now,
    accessToken: response.access_token,
    expiresIn: response.expires_in,
    lastLifetime: previous?.access_lifetime,
    defaultLifetime,
  });
  const refreshToken = response.refresh_token ?? previous?.refresh_token ?? null;
  const refreshExpiresAt = response.refresh_token_expires_in
    ? now + response.refresh_token_expires_in
    : response.refresh_token
      ? null
      : (previous?.expires_at ?? null);
  return {
    access: {
      v: 1,
      access_token: response.access_token,
      token_type: response.token_type,
      ...(response.scope !== undefined && { scope: response.scope }),
      issued_at: now,
      expires_at: expiresAt,
      generation,
    },
    refresh: { v: 1, refresh_token: refreshToken, expires_at: refreshExpiresAt, generation, refreshed_at: now, access_lifetime: lifetime },
  };
}
