/**
 * Provider presets, one registry for both sides: the views read it through the manifest's
 * `PROVIDER` constant (src/lib/app-config.ts), the backend through `OAUTH_PRESET`
 * (server/preset-env.ts). A preset decides everything; a constant or variable of the same
 * meaning overrides one field. docs/presets.md has the table and how to add one.
 *
 * Each preset's comment lists its quirks, each with its source; "unconfirmed" marks what the
 * provider's own documents (as searched for this registry) did not say. Checked against:
 * rotation, reuse grace, access-token expiry, what it takes to get a refresh token, revocation,
 * API base, CORS on the token endpoint (which decides the exchange mode), client authentication.
 */
export type ExchangeMode = 'backend' | 'extension';
export type ClientAuth = 'client_secret_post' | 'client_secret_basic';

export interface ProviderPreset {
  label: string;
  authorizeUrl?: string;
  /** The token endpoint: the views' TOKEN_URL (extension exchange mode) and the backend's OAUTH_TOKEN_ENDPOINT. */
  tokenUrl?: string;
  /**
   * The provider's API: the backend's OAUTH_API_BASE_URL for the proxy (`/api/proxy`), and where
   * a direct call from the extension goes.
   */
  apiBase?: string;
  /** Who is connected: an OIDC userinfo or a profile endpoint under `apiBase`, called as the connection. */
  profilePath?: string;
  profileMethod?: 'GET' | 'POST';
  scopes: string;
  /** Extra authorize parameters, e.g. what a provider needs to issue a refresh token. */
  authorizeParams: Record<string, string>;
  /** False for providers that issue no refresh token: the connection ends with its access token. */
  refreshTokens: boolean;
  exchangeMode: ExchangeMode;
  /**
   * The `iss` of the provider's ID tokens (the backend's OAUTH_ISSUER). With `discovery`, the
   * backend reads the endpoints from its OIDC metadata instead of `tokenUrl`/`revocationEndpoint`.
   */
  issuer?: string;
  discovery?: boolean;
  /** An RFC 7009 revocation endpoint; providers with their own kind of revocation have none here. */
  revocationEndpoint?: string;
  clientAuth: ClientAuth;
  /** Seconds an access token is assumed to live when the provider sends no `expires_in`. */
  defaultAccessLifetimeSeconds?: number;
  /** The default for a `{tenant}` in the URLs (the TENANT constant, OAUTH_TENANT on the backend). */
  tenant?: string;
}

/** The most the backend accepts for DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS (server/config.ts): 31 days. */
const LONGEST_ASSUMED_LIFETIME = 31 * 86_400;

export const PROVIDER_PRESETS = {
  /** Any OAuth 2.0 / OIDC provider: every URL comes from the constants (views) and OAUTH_* variables (backend). */
  generic: {
    label: 'OAuth provider',
    scopes: '',
    authorizeParams: {},
    refreshTokens: true,
    exchangeMode: 'backend',
    clientAuth: 'client_secret_post',
  },
  /**
   * Dropbox (https://www.dropbox.com/developers/documentation/http/documentation#oauth2-authorize):
   * - refresh token only with `token_access_type=offline`; access tokens are short-lived, about
   *   4 hours, with `expires_in` (https://dropbox.tech/developers/using-oauth-2-0-with-offline-access);
   * - refresh tokens do not rotate and do not expire (same post; that they never rotate is unconfirmed);
   * - PKCE public clients, and the token endpoint answers CORS, so the extension exchanges
   *   itself (CORS unconfirmed in Dropbox's documents; the SDK's browser PKCE flow relies on it);
   * - revocation is Dropbox's own `POST /2/auth/token/revoke` with the token as bearer, not RFC 7009;
   * - no OIDC discovery used; the profile endpoint is a POST without a body
   *   (https://www.dropbox.com/developers/documentation/http/documentation#users-get_current_account);
   * - a confidential client may send its secret in the body or as Basic (unconfirmed which is preferred).
   */
  dropbox: {
    label: 'Dropbox',
    authorizeUrl: 'https://www.dropbox.com/oauth2/authorize',
    tokenUrl: 'https://api.dropboxapi.com/oauth2/token',
    apiBase: 'https://api.dropboxapi.com/2',
    profilePath: '/users/get_current_account',
    profileMethod: 'POST',
    scopes: 'account_info.read',
    authorizeParams: { token_access_type: 'offline' },
    refreshTokens: true,
    exchangeMode: 'extension',
    clientAuth: 'client_secret_post',
  },
  /**
   * Google (https://developers.google.com/identity/protocols/oauth2/web-server#offline):
   * - a refresh token comes only with `access_type=offline`, and after the first consent only
   *   again with `prompt=consent`; access tokens live an hour, with `expires_in`;
   * - refresh tokens do not rotate; they stop working after 6 months unused, when the user
   *   revokes, and after 7 days for an app left in "Testing" on the consent screen
   *   (https://developers.google.com/identity/protocols/oauth2#expiration);
   * - a web client needs its secret, so the backend exchanges (client_secret_post; discovery at
   *   https://accounts.google.com/.well-known/openid-configuration lists post and basic);
   * - revocation https://oauth2.googleapis.com/revoke (the discovery's revocation_endpoint, RFC 7009 form);
   * - ID tokens' `iss` is https://accounts.google.com while tokens come from oauth2.googleapis.com,
   *   so the endpoints are given and the issuer only checks `iss`.
   */
  google: {
    label: 'Google',
    authorizeUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    apiBase: 'https://openidconnect.googleapis.com/v1',
    profilePath: '/userinfo',
    profileMethod: 'GET',
    scopes: 'openid email profile',
    authorizeParams: { access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true' },
    refreshTokens: true,
    exchangeMode: 'backend',
    issuer: 'https://accounts.google.com',
    revocationEndpoint: 'https://oauth2.googleapis.com/revoke',
    clientAuth: 'client_secret_post',
  },
  /**
   * GitHub OAuth Apps (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps):
   * - no refresh tokens and no `expires_in`: the token lives until revoked (GitHub revokes one
   *   unused for a year: https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/token-expiration-and-revocation,
   *   unconfirmed in the copy searched). The backend assumes the longest lifetime it allows, 31
   *   days: after it the connection ends and the user connects again;
   * - the token endpoint wants the client secret in the body and answers JSON only for
   *   `Accept: application/json` (openid-client sends it); "CORS pre-flight requests (OPTIONS) are
   *   not supported", so the backend exchanges; PKCE was "not supported" in that document (the
   *   extra parameters are ignored);
   * - a refused code comes back as HTTP 200 with an `error` field (unconfirmed): the broker then
   *   reports an unreadable answer rather than invalid_grant;
   * - revocation is `DELETE /applications/{client_id}/token` with Basic auth, not RFC 7009;
   * - GitHub Apps differ: their user tokens expire after 8 hours with 6-month refresh tokens
   *   (use `generic` with those settings).
   */
  github: {
    label: 'GitHub',
    authorizeUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    apiBase: 'https://api.github.com',
    profilePath: '/user',
    profileMethod: 'GET',
    scopes: 'read:user',
    authorizeParams: {},
    refreshTokens: false,
    exchangeMode: 'backend',
    clientAuth: 'client_secret_post',
    defaultAccessLifetimeSeconds: LONGEST_ASSUMED_LIFETIME,
  },
  /**
   * Microsoft Entra ID, v2 endpoints (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow):
   * - a refresh token needs the `offline_access` scope; refresh tokens rotate on every use but the
   *   old one is NOT revoked (so a lost answer is recoverable), and live 90 days (24 hours for
   *   SPA redirect URIs) (https://learn.microsoft.com/entra/identity-platform/refresh-tokens);
   * - access tokens live 60-90 minutes, with `expires_in` (unconfirmed range);
   * - the token endpoint answers CORS only for redirect URIs registered as "spa", whose refresh
   *   tokens die after 24 hours, and refuses a client secret with an Origin header — so the
   *   backend exchanges, as a "Web" client with a secret (AADSTS9002326, same page);
   * - no RFC 7009 revocation endpoint (sessions are revoked through Graph `revokeSignInSessions`);
   * - tenant: `common` (any work or personal account), `organizations`, `consumers`, or your
   *   tenant id (TENANT / OAUTH_TENANT). ID tokens carry the user's own tenant in `iss`, which
   *   `common` cannot match, so the preset asks no `openid` scope (the profile is Graph `/me`);
   *   add `openid` only with a tenant id set;
   * - client authentication: post or basic both accepted (unconfirmed for basic).
   */
  entra: {
    label: 'Microsoft',
    authorizeUrl: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize',
    tokenUrl: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
    apiBase: 'https://graph.microsoft.com/v1.0',
    profilePath: '/me',
    profileMethod: 'GET',
    scopes: 'offline_access User.Read',
    authorizeParams: {},
    refreshTokens: true,
    exchangeMode: 'backend',
    issuer: 'https://login.microsoftonline.com/{tenant}/v2.0',
    clientAuth: 'client_secret_post',
    tenant: 'common',
  },
  /**
   * Slack user tokens (https://docs.slack.dev/reference/methods/oauth.v2.user.access: top-level
   * `access_token`, `refresh_token`, `expires_in`; accepts `code_verifier`):
   * - refresh tokens only with token rotation turned on for the app; access tokens then expire
   *   after 12 hours, and each refresh returns a new refresh token and revokes the old one
   *   (https://docs.slack.dev/authentication/using-token-rotation); reuse grace unconfirmed;
   * - the authorize URL of the user-token flow (`/oauth/v2_user/authorize`) is unconfirmed; the
   *   older `oauth.v2.access` nests user tokens under `authed_user`, which the broker cannot read;
   * - errors may come as HTTP 200 with `"ok": false` (unconfirmed for this method): the broker
   *   then reports an unreadable answer;
   * - Slack asks for the secret as Basic ("If possible, avoid sending client_id and client_secret
   *   as parameters", same page); CORS unconfirmed, so the backend exchanges;
   * - revocation is Slack's own `auth.revoke` (token as bearer), not RFC 7009;
   * - Sign in with Slack (OIDC, https://slack.com/.well-known/openid-configuration) grants only
   *   `authorization_code`: no refresh, not used here.
   */
  slack: {
    label: 'Slack',
    authorizeUrl: 'https://slack.com/oauth/v2_user/authorize',
    tokenUrl: 'https://slack.com/api/oauth.v2.user.access',
    apiBase: 'https://slack.com/api',
    profilePath: '/auth.test',
    profileMethod: 'POST',
    scopes: 'users:read',
    authorizeParams: {},
    refreshTokens: true,
    exchangeMode: 'backend',
    clientAuth: 'client_secret_basic',
  },
  /**
   * HubSpot (https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide):
   * - access tokens expire after 30 minutes, with `expires_in`
   *   (https://developers.hubspot.com/changelog/upcoming-expiration-of-oauth-access-tokens-is-changing);
   * - every install gets a refresh token (no extra parameter); rotation and expiry of refresh
   *   tokens unconfirmed (the changelog: the change "will have no effect on refresh tokens");
   * - the v1 token endpoint takes client id and secret in the form body (client_secret_post) and
   *   `code_verifier`; v1 is deprecated from 16 February 2027 in favour of v3 (its URL unconfirmed);
   * - revocation is `DELETE /oauth/v1/refresh-tokens/{token}`, not RFC 7009;
   * - CORS unconfirmed: the secret is needed anyway, so the backend exchanges;
   * - the token holder's account: `GET /account-info/v3/details` (unconfirmed path).
   */
  hubspot: {
    label: 'HubSpot',
    authorizeUrl: 'https://app.hubspot.com/oauth/authorize',
    tokenUrl: 'https://api.hubapi.com/oauth/v1/token',
    apiBase: 'https://api.hubapi.com',
    profilePath: '/account-info/v3/details',
    profileMethod: 'GET',
    scopes: 'oauth',
    authorizeParams: {},
    refreshTokens: true,
    exchangeMode: 'backend',
    clientAuth: 'client_secret_post',
  },
  /**
   * Xero (https://developer.xero.com/faq/oauth2):
   * - access tokens live 30 minutes; refresh tokens rotate on every refresh and expire after 60
   *   days unused; if the answer is lost the old one may be retried for 30 minutes (grace);
   * - a refresh token needs the `offline_access` scope;
   * - PKCE for native apps; "Single page apps are not currently supported"
   *   (https://developer.xero.com/documentation/oauth2/pkce-flow), so the backend exchanges;
   * - OIDC issuer https://identity.xero.com with discovery; revocation
   *   https://identity.xero.com/connect/revocation (RFC 7009; unconfirmed here, discovery names it);
   * - client secret as Basic (unconfirmed in Xero's own pages);
   * - API calls need a `Xero-Tenant-Id` header; `/connections` lists the connected organisations.
   */
  xero: {
    label: 'Xero',
    authorizeUrl: 'https://login.xero.com/identity/connect/authorize',
    tokenUrl: 'https://identity.xero.com/connect/token',
    apiBase: 'https://api.xero.com',
    profilePath: '/connections',
    profileMethod: 'GET',
    scopes: 'openid profile email offline_access accounting.settings.read',
    authorizeParams: {},
    refreshTokens: true,
    exchangeMode: 'backend',
    issuer: 'https://identity.xero.com',
    discovery: true,
    clientAuth: 'client_secret_basic',
  },
  /**
   * The dev provider of `npm start` (server/local/oauth-provider): oidc-provider issues a
   * refresh token only for `offline_access` together with `prompt=consent`; refresh tokens
   * rotate; its small API (`/api/me`, `/api/notes`) checks tokens against the provider's own
   * store. The backend reads its endpoints by discovery (revocation included).
   */
  dev: {
    label: 'Dev provider',
    authorizeUrl: 'http://127.0.0.1:9090/auth',
    tokenUrl: 'http://127.0.0.1:9090/token',
    apiBase: 'http://127.0.0.1:9090/api',
    profilePath: '/me',
    profileMethod: 'GET',
    scopes: 'openid profile email offline_access',
    authorizeParams: { prompt: 'consent' },
    refreshTokens: true,
    exchangeMode: 'backend',
    issuer: 'http://127.0.0.1:9090',
    discovery: true,
    clientAuth: 'client_secret_post',
  },
} satisfies Record<string, ProviderPreset>;

export type ProviderName = keyof typeof PROVIDER_PRESETS;

export const PRESET_NAMES = Object.keys(PROVIDER_PRESETS) as ProviderName[];

export const isPresetName = (name: string): name is ProviderName => Object.hasOwn(PROVIDER_PRESETS, name);

/** A tenant is one path segment: a name (`common`), a domain or a tenant id. */
export const TENANT = /^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$/;

/** `url` with its `{tenant}` filled in (a URL without one is returned as it is). */
export const withTenant = (url: string, tenant: string): string => url.replaceAll('{tenant}', tenant);
