import { authorizeUrl, readAppConfig } from '../../src/lib/app-config';
import { PROVIDER_PRESETS } from '../../src/common/presets';

const base = { CLIENT_ID: 'client-1', BACKEND_URL: 'https://broker.example.com/' };

function config(constants: Record<string, unknown>) {
  const result = readAppConfig(constants);
  if (!result.ok) throw new Error(result.problems.join(' '));
  return result.config;
}

const params = (c: ReturnType<typeof config>) =>
  Object.fromEntries(new URL(authorizeUrl(c, { state: 'st', challenge: 'ch', redirectUri: 'https://dashboard.stripe.com/test/apps-oauth/x' })).searchParams);

test('every preset but generic runs with just a client id and a backend URL', () => {
  for (const name of Object.keys(PROVIDER_PRESETS).filter((n) => n !== 'generic')) {
    const c = config({ ...base, PROVIDER: name });
    expect(c.backendUrl).toBe('https://broker.example.com');
    expect(params(c)).toMatchObject({ response_type: 'code', client_id: 'client-1', state: 'st', code_challenge: 'ch', code_challenge_method: 'S256' });
  }
});

test('presets carry each provider\'s refresh-token quirks', () => {
  expect(params(config({ ...base, PROVIDER: 'dropbox' }))).toMatchObject({ token_access_type: 'offline' });
  expect(config({ ...base, PROVIDER: 'dropbox' }).exchangeMode).toBe('extension');
  expect(params(config({ ...base, PROVIDER: 'google' }))).toMatchObject({ access_type: 'offline', prompt: 'consent', scope: 'openid email profile' });
  expect(config({ ...base, PROVIDER: 'google' }).exchangeMode).toBe('backend');
  expect(config({ ...base, PROVIDER: 'github' }).refreshTokens).toBe(false);
  expect(params(config({ ...base, PROVIDER: 'dev' }))).toMatchObject({ prompt: 'consent', scope: 'openid profile email offline_access' });
});

test('constants override a preset; the preset\'s fixed parameters cannot be overridden by AUTHORIZE_PARAMS', () => {
  const c = config({ ...base, PROVIDER: 'google', SCOPES: 'openid', AUTHORIZE_PARAMS: { login_hint: 'a@b.c', response_type: 'token' }, EXCHANGE_MODE: 'extension' });
  expect(params(c)).toMatchObject({ scope: 'openid', login_hint: 'a@b.c', access_type: 'offline', response_type: 'code' });
  expect(c.exchangeMode).toBe('extension');
});

test('problems are collected and named', () => {
  const result = readAppConfig({ PROVIDER: 'generic', CLIENT_ID: 7, EXCHANGE_MODE: 'extension', AUTHORIZE_PARAMS: ['x'], DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS: 5 });
  expect(result.ok).toBe(false);
  expect(!result.ok && result.problems).toEqual([
    'CLIENT_ID must be a string.',
    'BACKEND_URL is not set.',
    'AUTHORIZE_URL is not set.',
    'TOKEN_URL is needed in extension exchange mode.',
    'AUTHORIZE_PARAMS must be an object of strings.',
    'DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS must be a whole number of seconds, at least 60.',
  ]);
  expect(readAppConfig({ PROVIDER: 'myspace' })).toEqual({ ok: false, problems: [expect.stringContaining('PROVIDER must be one of')] });
  expect(readAppConfig({ ...base, PROVIDER: 'dev', BACKEND_URL: 'http://broker.example.com' })).toMatchObject({ ok: false });
});
