/**
 * `npm run configure`, run as a child process against a temporary copy of the manifest: it
 * writes a manifest and a .env that agree with each other and start a backend, keeps the keys it
 * generated on a later run, and never prints a secret.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../server/config';
import { readAppConfig } from '../../src/lib/app-config';
import { ROOT } from '../support/commands';
import { fixedKey, KEYS } from '../support/fixtures';

const SECRET = 'client-secret-from-the-provider-Zq81';
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function appDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'configure-'));
  dirs.push(dir);
  copyFileSync(path.join(ROOT, 'stripe-app.json'), path.join(dir, 'stripe-app.json'));
  return dir;
}

/** The command with stdin not a terminal, as in CI: flags only. */
async function configure(dir: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server/cli/configure.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, STRIPE_APP_DIR: dir, ...env },
  });
  try {
    const { stdout, stderr } = await run;
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

const readEnv = (dir: string) => Object.fromEntries(
  readFileSync(path.join(dir, '.env'), 'utf8').split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);
const readManifest = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'stripe-app.json'), 'utf8'));
const FLAGS = ['--client-id', 'Iv1.abc123', '--backend-url', 'https://broker.your-company.test', '--app-id', 'com.your-company.broker'];

test('writes a manifest and a .env that agree, and a backend starts from that .env once Stripe\'s values are in', async () => {
  const dir = appDir();
  const { code, output } = await configure(dir, ['--preset', 'github', ...FLAGS], { OAUTH_CLIENT_SECRET: SECRET });
  expect({ code, output }).toMatchObject({ code: 0 });

  const manifest = readManifest(dir);
  expect(manifest.id).toBe('com.your-company.broker');
  expect(manifest.constants).toEqual({ PROVIDER: 'github', CLIENT_ID: 'Iv1.abc123', BACKEND_URL: 'https://broker.your-company.test' });
  expect(manifest.ui_extension.content_security_policy['connect-src']).toEqual(['https://broker.your-company.test/api/']);
  const views = readAppConfig(manifest.constants);
  expect(views).toMatchObject({ ok: true, config: { authorizeUrl: 'https://github.com/login/oauth/authorize' } });

  const env = readEnv(dir);
  expect(env).toMatchObject({ STRIPE_APP_ID: manifest.id, OAUTH_PRESET: 'github', OAUTH_CLIENT_ID: 'Iv1.abc123', OAUTH_CLIENT_SECRET: SECRET, STRIPE_SECRET_KEY_TEST: 'sk_test_...', STRIPE_APP_SIGNING_SECRET: 'absec_...' });
  expect(output).toMatch(/fill in STRIPE_SECRET_KEY_TEST/);
  expect(output).toMatch(/fill in STRIPE_APP_SIGNING_SECRET/);
  // As written, the backend refuses the placeholders; filled in, it starts as GitHub's client for this app.
  expect(() => loadConfig(env)).toThrow(/STRIPE_APP_SIGNING_SECRET is still the placeholder/);
  const config = loadConfig({ ...env, STRIPE_SECRET_KEY_TEST: KEYS.test, STRIPE_APP_SIGNING_SECRET: `absec_${fixedKey('configure signing')}` });
  expect(config).toMatchObject({ appId: manifest.id, providers: [{ oauth: { clientId: 'Iv1.abc123', clientSecret: SECRET } }] });
  expect(config.providers[0].oauth!.tokenEndpoint?.href).toBe('https://github.com/login/oauth/access_token');
  expect(config.adminToken).toBe(env.ADMIN_TOKEN);

  // The preview: the same app, its views calling the backend of `npm run preview-backend`, whose registry is its own.
  const preview = JSON.parse(readFileSync(path.join(dir, 'stripe-app.preview.json'), 'utf8'));
  expect(preview).toMatchObject({ extends: 'stripe-app.json', constants: { BACKEND_URL: 'http://127.0.0.1:8787' } });
  expect(preview.ui_extension.views).toEqual(manifest.ui_extension.views);
  expect(preview.ui_extension.content_security_policy['connect-src']).toEqual(['http://127.0.0.1:8787/api/']);
  expect(readAppConfig({ ...manifest.constants, ...preview.constants })).toMatchObject({ ok: true, config: { authorizeUrl: 'https://github.com/login/oauth/authorize', backendUrl: 'http://127.0.0.1:8787' } });
  expect(env.DATA_DIR).toBe('.data/preview');

  // Nothing secret on the terminal: the client secret, the sealing key, the admin token.
  for (const secret of [SECRET, env.TOKEN_SEALING_KEYS.split(':')[1], env.ADMIN_TOKEN]) expect(output).not.toContain(secret);
  expect(output).toMatch(/client secret: written to \.env/);
});

test('a preset whose views exchange and call the provider themselves gets those URLs in connect-src', async () => {
  const dir = appDir();
  expect(await configure(dir, ['--preset', 'dropbox', ...FLAGS])).toMatchObject({ code: 0 });
  expect(readManifest(dir).ui_extension.content_security_policy['connect-src']).toEqual([
    'https://broker.your-company.test/api/',
    'https://api.dropboxapi.com/oauth2/token',
    'https://api.dropboxapi.com/2/',
  ]);
});

test('a later run keeps the sealing key, admin token, secret and anything else of an existing .env, and updates what it was given', async () => {
  const dir = appDir();
  const sealing = `k7:${fixedKey('configure kept key')}`;
  writeFileSync(path.join(dir, '.env'), ['# mine', `TOKEN_SEALING_KEYS=${sealing}`, 'ADMIN_TOKEN=kept-admin-token-Hq27xLp0', 'OAUTH_PRESET=google', `OAUTH_CLIENT_SECRET=${SECRET}`, 'DATABASE_URL=postgres://db.your-company.test/broker?sslmode=verify-full', 'OAUTH_ISSUER=http://127.0.0.1:9090', ''].join('\n'));
  const { code, output } = await configure(dir, ['--preset', 'entra', ...FLAGS]);
  expect(code).toBe(0);
  const env = readEnv(dir);
  expect(env).toMatchObject({ TOKEN_SEALING_KEYS: sealing, ADMIN_TOKEN: 'kept-admin-token-Hq27xLp0', OAUTH_PRESET: 'entra', OAUTH_CLIENT_SECRET: SECRET, DATABASE_URL: 'postgres://db.your-company.test/broker?sslmode=verify-full' });
  expect(readFileSync(path.join(dir, '.env'), 'utf8')).toMatch(/^# mine\n/);
  expect(output).toMatch(/TOKEN_SEALING_KEYS: kept/);
  // A variable that would override the new preset's location is pointed out, not silently kept.
  expect(output).toMatch(/OAUTH_ISSUER overrides the entra preset's/);
  expect(output).not.toContain(SECRET);
});

test('without a terminal, a missing or unknown answer is refused, naming it, and nothing is written', async () => {
  const dir = appDir();
  const before = readFileSync(path.join(dir, 'stripe-app.json'), 'utf8');
  const missing = await configure(dir, ['--preset', 'myspace', '--backend-url', 'http://broker.your-company.test']);
  expect(missing.code).toBe(2);
  expect(missing.output).toMatch(/--preset must be one of generic, dropbox, google, github, entra, slack, hubspot, xero, dev\n/);
  expect(missing.output).toMatch(/--client-id is missing/);
  expect(missing.output).toMatch(/--backend-url must be an https URL/);
  expect(readFileSync(path.join(dir, 'stripe-app.json'), 'utf8')).toBe(before);
});
