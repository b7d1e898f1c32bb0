/**
 * `OAUTH_PRESET=<preset>`: a provider preset of src/common/presets.ts fills in every OAuth
 * variable left unset (empty counts as unset, as in config.ts), so `OAUTH_PRESET=github` with a
 * client id and secret is a whole provider; a variable that is set overrides its one field.
 * The provider's location is one field: an OAUTH_ISSUER or OAUTH_TOKEN_ENDPOINT of your own
 * replaces the preset's issuer, token and revocation endpoints together, so a client secret
 * never goes to an endpoint picked from two different places.
 */
import { isPresetName, PRESET_NAMES, PROVIDER_PRESETS, type ProviderPreset, TENANT, withTenant } from '../src/common/presets';
import { ConfigError } from './config';

type Env = Record<string, string | undefined>;

const given = (env: Env, name: string): string | undefined => env[name]?.trim() || undefined;

/** `env` with the defaults of `${prefix}PRESET` filled in for its unset `${prefix}<SUFFIX>` variables. */
export function withPreset(env: Env, prefix = 'OAUTH_'): Env {
  const name = given(env, `${prefix}PRESET`);
  if (name === undefined) return env;
  if (!isPresetName(name)) throw new ConfigError(`${prefix}PRESET must be one of ${PRESET_NAMES.join(', ')}`);
  const preset: ProviderPreset = PROVIDER_PRESETS[name];
  const tenant = given(env, `${prefix}TENANT`) ?? preset.tenant;
  if (tenant !== undefined && !TENANT.test(tenant)) throw new ConfigError(`${prefix}TENANT must be a tenant name, domain or id (letters, digits, . and -)`);
  const url = (value: string | undefined) => (value && tenant ? withTenant(value, tenant) : value);
  const located = given(env, `${prefix}ISSUER`) !== undefined || given(env, `${prefix}TOKEN_ENDPOINT`) !== undefined;
  const location = preset.discovery
    ? { ISSUER: url(preset.issuer) }
    : { ISSUER: url(preset.issuer), TOKEN_ENDPOINT: url(preset.tokenUrl), REVOCATION_ENDPOINT: preset.revocationEndpoint };
  const defaults: Record<string, string | undefined> = {
    ...(!located && location),
    CLIENT_AUTH: preset.clientAuth,
    API_BASE_URL: preset.apiBase,
  };
  const filled: Env = { ...env };
  for (const [suffix, value] of Object.entries(defaults)) {
    if (value !== undefined && given(env, prefix + suffix) === undefined) filled[prefix + suffix] = value;
  }
  // The unnamed provider's lifetime is the plain DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS; a named one's has its prefix (config.ts).
  const lifetime = `${prefix === 'OAUTH_' ? '' : prefix}DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS`;
  if (preset.defaultAccessLifetimeSeconds && given(env, lifetime) === undefined) {
    filled[lifetime] = String(preset.defaultAccessLifetimeSeconds);
  }
  return filled;
}
