/**
 * Provider presets: switching providers is configuration (the manifest's `PROVIDER` constant
 * plus the client id), not code. Each preset documents its quirks; any field can be
 * overridden by a constant of the same meaning (see app-config.ts).
 */
export type ExchangeMode = 'backend' | 'extension';

export interface ProviderPreset {
  label: string;
  authorizeUrl?: string;
  /** Needed by the extension only in `extension` exchange mode; the backend has its own setting. */
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
}

export const PROVIDER_PRESETS = {
  /** Any OAuth 2.0 / OIDC provider: every URL comes from the constants. */
  generic: {
    label: 'OAuth provider',
    scopes: '',
    authorizeParams: {},
    refreshTokens: true,
    exchangeMode: 'backend',
  },
  /**
   * Dropbox: PKCE public clients are supported and the token endpoint answers CORS, so the
   * extension can exchange itself. `token_access_type=offline` is what yields a refresh token;
   * refresh tokens do not rotate. The profile endpoint is a POST without a body. Revocation is
   * Dropbox's own `/2/auth/token/revoke`, not RFC 7009 (set OAUTH_REVOCATION_ENDPOINT empty).
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
  },
  /**
   * Google: a web client needs its secret, so the backend exchanges (OAUTH_ISSUER
   * https://accounts.google.com). A refresh token comes only with `access_type=offline` and,
   * after the first consent, only again with `prompt=consent`. An app left in "Testing" on the
   * consent screen gets refresh tokens that die after 7 days.
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
  },
  /**
   * GitHub OAuth Apps: no refresh tokens and no `expires_in` — the token lives until revoked.
   * The token endpoint sends no CORS headers and wants the client secret, so the backend
   * exchanges; give the backend a long DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS, since the
   * connection ends (reconnect required) when that assumed lifetime runs out.
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
  },
  /**
   * The dev provider of `npm start` (server/local/oauth-provider): oidc-provider issues a
   * refresh token only for `offline_access` together with `prompt=consent`; its small API
   * (`/api/me`, `/api/notes`) checks tokens against the provider's own store.
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
  },
} satisfies Record<string, ProviderPreset>;

export type ProviderName = keyof typeof PROVIDER_PRESETS;
