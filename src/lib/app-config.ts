/**
 * The extension's configuration, from the manifest's `constants` (environment.constants):
 *
 *   PROVIDER        a preset of src/common/presets.ts (default "generic"): it alone decides every field below
 *   CLIENT_ID       the provider client id (required)
 *   BACKEND_URL     the broker backend's origin, e.g. https://broker.example.com (required)
 *   AUTHORIZE_URL, TOKEN_URL, API_BASE_URL, PROFILE_PATH, SCOPES, EXCHANGE_MODE ("backend" |
 *   "extension"), AUTHORIZE_PARAMS (an object), DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS, TENANT (the
 *   `{tenant}` of the preset's URLs) — each overrides one field of the preset.
 *   API_ACCESS      "proxy" (through the backend's /api/proxy; the default in backend exchange
 *                   mode) or "direct" (the extension calls API_BASE_URL; the default in extension mode)
 *   CONNECTION_SCOPE "user" (default: each Dashboard user's own) or "account" (one per account,
 *                   shared by its users; the backend's CONNECTION_SCOPE must match)
 *   OAUTH_RETURN_URL — only for the offline console (its own return URL on loopback); in the
 *                   Dashboard the return URL is always the Dashboard's own for the app and mode.
 *
 * Problems are collected, not thrown, so the view can show all of them in one Banner.
 */
import type { ConnectionScope } from '../common/connection-id';
import { isLoopbackUrl } from '../common/loopback';
import { type ExchangeMode, isPresetName, PRESET_NAMES, PROVIDER_PRESETS, type ProviderName, type ProviderPreset, TENANT, withTenant } from '../common/presets';

/** What only the backend reads of a preset. */
type BackendFields = 'issuer' | 'discovery' | 'revocationEndpoint' | 'clientAuth' | 'defaultAccessLifetimeSeconds' | 'tenant';

export interface AppConfig extends Required<Omit<ProviderPreset, 'tokenUrl' | 'apiBase' | 'profilePath' | 'profileMethod' | BackendFields>> {
  /** The provider's name in the backend's OAUTH_PROVIDERS (its key in SERVICES, services.ts); absent for the one unnamed provider. */
  name?: string;
  /** The preset. */
  provider: ProviderName;
  clientId: string;
  backendUrl: string;
  tokenUrl?: string;
  apiBase?: string;
  profilePath?: string;
  apiAccess: 'proxy' | 'direct';
  connectionScope: ConnectionScope;
  /** The offline console's return URL; undefined in the Dashboard. */
  oauthReturnUrl?: string;
  profileMethod: 'GET' | 'POST';
  defaultAccessLifetimeSeconds: number;
}

export type ConfigResult = { ok: true; config: AppConfig } | { ok: false; problems: string[] };

/** https, or http on loopback (the offline console). */
export const isUrl = (value: string) => {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackUrl(url));
};

export function readAppConfig(constants: unknown): ConfigResult {
  const c = (typeof constants === 'object' && constants !== null && !Array.isArray(constants) ? constants : {}) as Record<string, unknown>;
  const problems: string[] = [];
  const text = (name: string, required = false): string | undefined => {
    const value = c[name];
    if (value === undefined || value === null || value === '') {
      if (required) problems.push(`${name} is not set.`);
      return undefined;
    }
    if (typeof value !== 'string') {
      problems.push(`${name} must be a string.`);
      return undefined;
    }
    return value;
  };
  const url = (name: string, fallback?: string, required = false): string | undefined => {
    const value = text(name, required && !fallback) ?? fallback;
    if (value !== undefined && !isUrl(value)) problems.push(`${name} must be an https URL (http only on localhost).`);
    return value;
  };

  const providerName = text('PROVIDER') ?? 'generic';
  if (!isPresetName(providerName)) return { ok: false, problems: [`PROVIDER must be one of ${PRESET_NAMES.join(', ')}.`] };
  const preset: ProviderPreset = PROVIDER_PRESETS[providerName];
  const tenant = text('TENANT') ?? preset.tenant;
  if (tenant !== undefined && !TENANT.test(tenant)) problems.push('TENANT must be a tenant name, domain or id (letters, digits, . and -).');
  /** A preset URL with the tenant filled in. */
  const fromPreset = (value: string | undefined) => (value && tenant ? withTenant(value, tenant) : value);

  const clientId = text('CLIENT_ID', true);
  const backendUrl = url('BACKEND_URL', undefined, true)?.replace(/\/+$/, '');
  const authorizeUrl = url('AUTHORIZE_URL', fromPreset(preset.authorizeUrl), true);
  const exchangeMode = (text('EXCHANGE_MODE') ?? preset.exchangeMode) as ExchangeMode;
  if (exchangeMode !== 'backend' && exchangeMode !== 'extension') problems.push('EXCHANGE_MODE must be "backend" or "extension".');
  const tokenUrl = url('TOKEN_URL', fromPreset(preset.tokenUrl));
  if (exchangeMode === 'extension' && !tokenUrl) problems.push('TOKEN_URL is needed in extension exchange mode.');
  const extraParams = c.AUTHORIZE_PARAMS ?? {};
  if (typeof extraParams !== 'object' || extraParams === null || Array.isArray(extraParams) || Object.values(extraParams).some((v) => typeof v !== 'string')) {
    problems.push('AUTHORIZE_PARAMS must be an object of strings.');
  }
  const lifetime = c.DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS ?? preset.defaultAccessLifetimeSeconds ?? 3600;
  if (typeof lifetime !== 'number' || !Number.isInteger(lifetime) || lifetime < 60) {
    problems.push('DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS must be a whole number of seconds, at least 60.');
  }
  const apiBase = url('API_BASE_URL', preset.apiBase)?.replace(/\/+$/, '');
  const profilePath = text('PROFILE_PATH') ?? preset.profilePath;
  if (profilePath !== undefined && !/^\/[^/]/.test(profilePath)) problems.push('PROFILE_PATH must be a path under API_BASE_URL, starting with one /.');
  const apiAccess = text('API_ACCESS') ?? (exchangeMode === 'extension' ? 'direct' : 'proxy');
  if (apiAccess !== 'proxy' && apiAccess !== 'direct') problems.push('API_ACCESS must be "proxy" or "direct".');
  if (apiAccess === 'direct' && profilePath && !apiBase) problems.push('API_BASE_URL is needed for direct API calls.');
  const connectionScope = text('CONNECTION_SCOPE') ?? 'user';
  if (connectionScope !== 'user' && connectionScope !== 'account') problems.push('CONNECTION_SCOPE must be "user" or "account".');
  const oauthReturnUrl = text('OAUTH_RETURN_URL');
  if (oauthReturnUrl !== undefined && !(URL.canParse(oauthReturnUrl) && isLoopbackUrl(new URL(oauthReturnUrl)))) {
    problems.push('OAUTH_RETURN_URL is for the offline console only and must be a loopback URL.');
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: {
      provider: providerName,
      label: preset.label,
      clientId: clientId!,
      backendUrl: backendUrl!,
      authorizeUrl: authorizeUrl!,
      tokenUrl,
      apiBase,
      profilePath,
      apiAccess: apiAccess as AppConfig['apiAccess'],
      connectionScope: connectionScope as ConnectionScope,
      oauthReturnUrl,
      profileMethod: preset.profileMethod ?? 'GET',
      scopes: text('SCOPES') ?? preset.scopes,
      authorizeParams: { ...preset.authorizeParams, ...(extraParams as Record<string, string>) },
      refreshTokens: preset.refreshTokens,
      exchangeMode,
      defaultAccessLifetimeSeconds: lifetime as number,
    },
  };
}

/** The provider's authorize URL for a PKCE authorization-code request. */
export function authorizeUrl(config: AppConfig, p: { state: string; challenge: string; redirectUri: string }): string {
  const url = new URL(config.authorizeUrl);
  const params = {
    ...config.authorizeParams,
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: p.redirectUri,
    state: p.state,
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    ...(config.scopes && { scope: config.scopes }),
  };
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}
