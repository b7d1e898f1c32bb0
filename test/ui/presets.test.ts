/**
 * The views' side of the preset registry: `PROVIDER` alone decides every URL, a constant
 * overrides one field, and the shipped manifests carry no constant that would shadow a preset.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROVIDER_PRESETS } from '../../src/common/presets';
import { authorizeUrl, readAppConfig } from '../../src/lib/app-config';

const ROOT = path.resolve(__dirname, '..', '..');
const base = { CLIENT_ID: 'client-1', BACKEND_URL: 'https://broker.your-company.test' };

function config(constants: Record<string, unknown>) {
  const result = readAppConfig(constants);
  if (!result.ok) throw new Error(result.problems.join(' '));
  return result.config;
}

const link = (c: ReturnType<typeof config>) => new URL(authorizeUrl(c, { state: 'st', challenge: 'ch', redirectUri: 'https://dashboard.stripe.com/test/apps-oauth/x' }));

test('PROVIDER=github alone sends the user to GitHub and calls GitHub\'s API', () => {
  const c = config({ ...base, PROVIDER: 'github' });
  expect(`${link(c).origin}${link(c).pathname}`).toBe('https://github.com/login/oauth/authorize');
  expect(c).toMatchObject({ apiBase: 'https://api.github.com', profilePath: '/user', exchangeMode: 'backend', refreshTokens: false });
  // GitHub sends no expires_in: the preset's assumed lifetime, not the generic hour.
  expect(c.defaultAccessLifetimeSeconds).toBe(31 * 86_400);
});

test('a constant overrides its one field of the preset, and only that one', () => {
  const c = config({ ...base, PROVIDER: 'github', AUTHORIZE_URL: 'https://github.your-company.test/login/oauth/authorize', DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS: 86_400 });
  expect(link(c).hostname).toBe('github.your-company.test');
  expect(c.apiBase).toBe('https://api.github.com');
  expect(c.defaultAccessLifetimeSeconds).toBe(86_400);
});

test('Entra: the tenant defaults to common, TENANT overrides it, and a tenant that is no path segment is refused', () => {
  expect(link(config({ ...base, PROVIDER: 'entra' })).pathname).toBe('/common/oauth2/v2.0/authorize');
  expect(link(config({ ...base, PROVIDER: 'entra', TENANT: 'contoso.onmicrosoft.com' })).pathname).toBe('/contoso.onmicrosoft.com/oauth2/v2.0/authorize');
  expect(readAppConfig({ ...base, PROVIDER: 'entra', TENANT: '../evil' })).toMatchObject({ ok: false, problems: [expect.stringMatching(/^TENANT must be/)] });
});

describe('the shipped manifests', () => {
  const read = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as { constants: Record<string, unknown> };
  const manifest = read('stripe-app.json');
  const local = read('stripe-app.local.json');
  const SHADOWING = ['AUTHORIZE_URL', 'TOKEN_URL', 'API_BASE_URL', 'PROFILE_PATH', 'SCOPES', 'AUTHORIZE_PARAMS'];

  test('carry no constant that would override a preset\'s URLs', () => {
    expect(Object.keys(manifest.constants).filter((name) => SHADOWING.includes(name))).toEqual([]);
    expect(Object.keys(local.constants).filter((name) => SHADOWING.includes(name))).toEqual([]);
  });

  test('a PROVIDER changed in either file decides where the user goes', () => {
    // `stripe apps start --manifest stripe-app.local.json`: the local constants over the base, key by key.
    const merged = { ...manifest.constants, ...local.constants };
    expect(link(config(merged)).origin).toBe(new URL(PROVIDER_PRESETS.dev.authorizeUrl).origin);
    expect(link(config({ ...merged, PROVIDER: 'github' })).origin).toBe('https://github.com');
    expect(link(config({ ...manifest.constants, PROVIDER: 'dropbox' })).origin).toBe('https://www.dropbox.com');
  });
});
