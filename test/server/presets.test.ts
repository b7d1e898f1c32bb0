/**
 * The backend's side of the preset registry: OAUTH_PRESET alone gives a whole provider, a set
 * variable overrides its one field, an unknown preset is refused naming the choices, and values
 * left from .env.example stop start-up with a line each.
 */
import { ConfigError, loadConfig } from '../../server/config';
import { PRESET_NAMES } from '../../src/common/presets';
import { fixedKey } from '../support/fixtures';

const base = {
  STRIPE_SECRET_KEY_TEST: 'sk_test_abc',
  STRIPE_APP_SIGNING_SECRET: 'absec_Kq3ZtV8mWb2xRn5LpY7cJd4H',
  STRIPE_APP_ID: 'com.example.oauth-broker',
  TOKEN_SEALING_KEYS: `k1:${fixedKey('presets key 1')}`,
  OAUTH_CLIENT_ID: 'client-1',
  OAUTH_CLIENT_SECRET: 'a-client-secret-from-the-provider',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
  throw new Error('loadConfig accepted the environment');
}

test('OAUTH_PRESET=github alone gives GitHub\'s token endpoint, its API for the proxy, and a long assumed lifetime', () => {
  const config = loadConfig({ ...base, OAUTH_PRESET: 'github' });
  expect(config.providers[0].oauth!.tokenEndpoint?.href).toBe('https://github.com/login/oauth/access_token');
  expect(config.providers[0].oauth!.issuer).toBeUndefined();
  expect(config.providers[0].oauth!.revocationEndpoint).toBeUndefined();
  expect(config.providers[0].oauth!.clientAuth).toBe('client_secret_post');
  expect(config.providers[0].api.bases.map(String)).toEqual(['https://api.github.com/']);
  expect(config.providers[0].defaultAccessLifetimeSeconds).toBe(31 * 86_400);
});

test('Google: the endpoints given, the issuer only for ID tokens\' iss, and RFC 7009 revocation', () => {
  const config = loadConfig({ ...base, OAUTH_PRESET: 'google' });
  expect(config.providers[0].oauth!).toMatchObject({ clientAuth: 'client_secret_post' });
  expect([config.providers[0].oauth!.issuer?.href, config.providers[0].oauth!.tokenEndpoint?.href, config.providers[0].oauth!.revocationEndpoint?.href])
    .toEqual(['https://accounts.google.com/', 'https://oauth2.googleapis.com/token', 'https://oauth2.googleapis.com/revoke']);
  expect(config.providers[0].defaultAccessLifetimeSeconds).toBe(3600);
});

test('a preset with OIDC discovery gives only its issuer; Slack authenticates with Basic', () => {
  const xero = loadConfig({ ...base, OAUTH_PRESET: 'xero' });
  expect([xero.providers[0].oauth!.issuer?.href, xero.providers[0].oauth!.tokenEndpoint]).toEqual(['https://identity.xero.com/', undefined]);
  expect(loadConfig({ ...base, OAUTH_PRESET: 'slack' }).providers[0].oauth!.clientAuth).toBe('client_secret_basic');
});

test('a variable that is set overrides its one field; an issuer or token endpoint of your own replaces the preset\'s location whole', () => {
  const config = loadConfig({ ...base, OAUTH_PRESET: 'github', OAUTH_API_BASE_URL: 'https://ghe.your-company.test/api/v3', DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS: '86400' });
  expect(config.providers[0].api.bases.map(String)).toEqual(['https://ghe.your-company.test/api/v3']);
  expect(config.providers[0].defaultAccessLifetimeSeconds).toBe(86_400);
  expect(config.providers[0].oauth!.tokenEndpoint?.href).toBe('https://github.com/login/oauth/access_token');

  const own = loadConfig({ ...base, OAUTH_PRESET: 'google', OAUTH_TOKEN_ENDPOINT: 'https://login.your-company.test/token' });
  expect([own.providers[0].oauth!.issuer, own.providers[0].oauth!.tokenEndpoint?.href, own.providers[0].oauth!.revocationEndpoint]).toEqual([undefined, 'https://login.your-company.test/token', undefined]);
  expect(own.providers[0].api.bases.map(String)).toEqual(['https://openidconnect.googleapis.com/v1']);
  // Empty counts as unset, as everywhere in the configuration.
  expect(loadConfig({ ...base, OAUTH_PRESET: 'github', OAUTH_API_BASE_URL: ' ' }).providers[0].api.bases.map(String)).toEqual(['https://api.github.com/']);
});

test('Entra: the tenant is common unless OAUTH_TENANT names another; one that is no path segment is refused', () => {
  expect(loadConfig({ ...base, OAUTH_PRESET: 'entra' }).providers[0].oauth!.tokenEndpoint?.href).toBe('https://login.microsoftonline.com/common/oauth2/v2.0/token');
  const tenant = loadConfig({ ...base, OAUTH_PRESET: 'entra', OAUTH_TENANT: 'contoso.onmicrosoft.com' });
  expect(tenant.providers[0].oauth!.tokenEndpoint?.href).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token');
  expect(tenant.providers[0].oauth!.issuer?.href).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0');
  expect(problemsOf({ ...base, OAUTH_PRESET: 'entra', OAUTH_TENANT: 'x/../../evil' })).toEqual([expect.stringMatching(/^OAUTH_TENANT must be/)]);
});

test('an unknown preset is refused, naming the choices', () => {
  expect(problemsOf({ ...base, OAUTH_PRESET: 'myspace' })).toEqual([`OAUTH_PRESET must be one of ${PRESET_NAMES.join(', ')}`]);
  expect(PRESET_NAMES).toEqual(expect.arrayContaining(['dev', 'generic', 'github', 'google', 'dropbox', 'entra', 'slack', 'hubspot', 'xero']));
});

test('values left from .env.example stop start-up, a line each naming the variable and never the value', () => {
  const problems = problemsOf({
    ...base,
    STRIPE_APP_SIGNING_SECRET: 'absec_...',
    TOKEN_SEALING_KEYS: 'k1:...',
    OAUTH_CLIENT_ID: 'replace-with-your-client-id',
    OAUTH_CLIENT_SECRET: 'replace-with-your-client-secret',
    OAUTH_ISSUER: 'https://login.example.com',
    OAUTH_API_BASE_URL: 'https://api.your-company.test,https://api.example.org',
  });
  expect(problems).toEqual([
    'STRIPE_APP_SIGNING_SECRET is still the placeholder of .env.example: put in your own value',
    'TOKEN_SEALING_KEYS is still the placeholder of .env.example: put in your own value',
    'OAUTH_CLIENT_ID is still the placeholder of .env.example: put in your own value',
    'OAUTH_CLIENT_SECRET is still the placeholder of .env.example: put in your own value',
    'OAUTH_ISSUER names an example host (example.com): put in your provider\'s URL, or leave it to OAUTH_PRESET',
    'OAUTH_API_BASE_URL names an example host (example.com): put in your provider\'s URL, or leave it to OAUTH_PRESET',
  ]);
  for (const value of ['replace-with-your-client-secret', 'login.example.com']) expect(problems.join('\n')).not.toContain(value);
});
