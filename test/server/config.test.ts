import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/config';
import { ROOT, startCommand } from '../support/commands';
import { startTestProvider } from '../support/dev-provider';

const base = {
  STRIPE_SECRET_KEY_TEST: 'sk_test_abc',
  STRIPE_APP_SIGNING_SECRET: 'absec_abc',
  OAUTH_ISSUER: 'https://login.example.com',
  OAUTH_CLIENT_ID: 'client-1',
};

test('a minimal environment gives the documented defaults', () => {
  const config = loadConfig(base);
  expect(config).toMatchObject({
    secretKeys: { test: 'sk_test_abc' },
    refreshMarginSeconds: 300,
    defaultAccessLifetimeSeconds: 3600,
    dataDir: '.data',
    port: 8787,
    provider: { clientId: 'client-1', clientAuth: 'client_secret_post', timeoutSeconds: 10 },
  });
  expect(config.provider.issuer?.toString()).toBe('https://login.example.com/');
});

test('STRIPE_SECRET_KEY fills the mode its prefix names; explicit endpoints replace discovery', () => {
  const { STRIPE_SECRET_KEY_TEST: _unused, OAUTH_ISSUER: _issuer, ...rest } = base;
  const config = loadConfig({ ...rest, STRIPE_SECRET_KEY: 'rk_live_xyz', OAUTH_TOKEN_ENDPOINT: 'https://p.example/token', OAUTH_REVOCATION_ENDPOINT: 'https://p.example/revoke' });
  expect(config.secretKeys).toEqual({ live: 'rk_live_xyz' });
  expect(config.provider.tokenEndpoint?.toString()).toBe('https://p.example/token');
  expect(config.provider.issuer).toBeUndefined();
});

test.each([
  ['STRIPE_APP_SIGNING_SECRET', { STRIPE_APP_SIGNING_SECRET: undefined }],
  ['STRIPE_APP_SIGNING_SECRET', { STRIPE_APP_SIGNING_SECRET: 'whsec_wrong_kind' }],
  ['STRIPE_SECRET_KEY_TEST', { STRIPE_SECRET_KEY_TEST: undefined }],
  ['STRIPE_SECRET_KEY_TEST', { STRIPE_SECRET_KEY_TEST: 'sk_live_abc' }],
  ['STRIPE_SECRET_KEY', { STRIPE_SECRET_KEY: 'pk_test_abc' }],
  ['STRIPE_WEBHOOK_SECRET', { STRIPE_WEBHOOK_SECRET: 'absec_wrong_kind' }],
  ['STRIPE_API_BASE', { STRIPE_API_BASE: 'not a url' }],
  ['OAUTH_ISSUER', { OAUTH_ISSUER: undefined }],
  ['OAUTH_ISSUER', { OAUTH_ISSUER: 'ftp://example.com' }],
  ['OAUTH_CLIENT_ID', { OAUTH_CLIENT_ID: '  ' }],
  ['OAUTH_CLIENT_AUTH', { OAUTH_CLIENT_AUTH: 'private_key_jwt' }],
  ['REFRESH_MARGIN_SECONDS', { REFRESH_MARGIN_SECONDS: 'soon' }],
  ['PORT', { PORT: '70000' }],
  ['DATABASE_URL', { DATABASE_URL: 'postgres://localhost/db' }],
])('a missing or malformed %s is named', (name, change) => {
  expect(() => loadConfig({ ...base, ...change })).toThrow(new RegExp(`^${name}`));
});

describe('npm run backend', () => {
  const script = 'server/main.ts';

  test('stops at start-up with one line naming a missing setting', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...base, OAUTH_CLIENT_ID: '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe('error: OAUTH_CLIENT_ID is not set');
  });

  test('listens, prints its URL, answers healthz and stops cleanly on SIGTERM', async () => {
    const provider = await startTestProvider();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'backend-'));
    try {
      const backend = await startCommand(script, [], { ...base, OAUTH_ISSUER: provider.issuer, PORT: '0', DATA_DIR: dataDir });
      try {
        expect(backend.output()).toMatch(/^Broker backend listening on http:\/\/127\.0\.0\.1:\d+\n/);
        expect(await (await fetch(`${backend.url}/healthz`)).json()).toEqual({ ok: true });
      } finally {
        expect(await backend.stop()).toBe(0);
      }
    } finally {
      await provider.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
