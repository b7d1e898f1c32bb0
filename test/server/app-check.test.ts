/**
 * `npm run check` (server/check, docs/check.md) on apps written here in temporary folders: a clean
 * one passes, and each class of problem is reported, with its fix, and nothing else: the schema,
 * the icon, the views, the constants and their placeholders, the content security policy,
 * loopback URLs, permissions the code uses, the backend's .env and its agreement with the
 * constants, a view that does not build. The command itself: its lines and its exit code.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkApp } from '../../server/check/check-app';
import type { Manifest } from '../../server/check/problem';
import { ROOT } from '../support/commands';

const APP_ID = 'com.acme.crm-link';

const cleanManifest = (): Manifest => ({
  id: APP_ID,
  version: '1.0.0',
  name: 'CRM Link',
  icon: './icon.png',
  permissions: [{ permission: 'secret_write', purpose: 'Keeps your CRM connection in the Stripe Secret Store.' }],
  ui_extension: {
    views: [
      { viewport: 'stripe.dashboard.drawer.default', component: 'App' },
      { viewport: 'settings', component: 'AppSettings' },
    ],
    content_security_policy: { 'connect-src': ['https://broker.acme.test/api/'], 'image-src': null, purpose: 'Calls the app backend.' },
  },
  post_install_action: { type: 'settings' },
  constants: {
    CLIENT_ID: 'acme-client',
    AUTHORIZE_URL: 'https://id.acme.test/authorize',
    TOKEN_URL: 'https://id.acme.test/token',
    API_BASE_URL: 'https://api.acme.test',
    PROFILE_PATH: '/me',
    BACKEND_URL: 'https://broker.acme.test',
  },
  distribution_type: 'private',
});

/** A backend environment the configuration accepts, matching cleanManifest. */
const cleanEnv = (): Record<string, string> => ({
  STRIPE_SECRET_KEY_TEST: `sk_test_${randomBytes(24).toString('hex')}`,
  STRIPE_APP_SIGNING_SECRET: `absec_${randomBytes(24).toString('hex')}`,
  STRIPE_APP_ID: APP_ID,
  TOKEN_SEALING_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  OAUTH_TOKEN_ENDPOINT: 'https://id.acme.test/token',
  OAUTH_CLIENT_ID: 'acme-client',
  OAUTH_API_BASE_URL: 'https://api.acme.test',
});

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface AppFiles {
  manifest?: Manifest;
  local?: Manifest;
  env?: Record<string, string>;
  /** Files by path under the app's folder, over the clean app's. */
  files?: Record<string, string | Buffer>;
}

/** A clean app (its views, an icon, code that writes secrets), with `over` changed. */
function appDir(over: AppFiles = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'app-check-'));
  dirs.push(dir);
  const files: Record<string, string | Buffer> = {
    'stripe-app.json': JSON.stringify(over.manifest ?? cleanManifest()),
    'src/views/App.tsx': 'export default function App() { return null; }\n',
    'src/views/AppSettings.tsx': 'export default function AppSettings() { return null; }\n',
    'src/lib/secrets.ts': "export const SECRETS = 'https://api.stripe.com/v1/apps/secrets';\n",
    ...(over.local && { 'stripe-app.local.json': JSON.stringify(over.local) }),
    ...(over.env && { '.env': Object.entries(over.env).map(([name, value]) => `${name}=${value}`).join('\n') }),
    ...over.files,
  };
  copyFileSync(path.join(ROOT, 'icon.png'), path.join(dir, 'icon.png'));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

const problemsOf = async (over: AppFiles = {}, local = false) => (await checkApp({ root: appDir(over), local })).problems;

/** The manifest with `change` applied to a copy. */
const manifestWith = (change: (m: Manifest & { constants: Record<string, unknown> }) => void): Manifest => {
  const m = cleanManifest() as Manifest & { constants: Record<string, unknown> };
  change(m);
  return m;
};

const problem = (where: string, text: string, fix: string) => ({ where, problem: expect.stringContaining(text), fix: expect.stringContaining(fix) });

test('a clean app passes: no problem, both redirect URIs to register, each view measured', async () => {
  const report = await checkApp({ root: appDir({ env: cleanEnv() }), local: false });
  expect(report.problems).toEqual([]);
  expect(report.checked).toEqual(['stripe-app.json', '.env']);
  expect(report.redirectUris).toEqual({ test: `https://dashboard.stripe.com/test/apps-oauth/${APP_ID}`, live: `https://dashboard.stripe.com/apps-oauth/${APP_ID}` });
  expect(report.bundles.map((b) => b.component)).toEqual(['App', 'AppSettings']);
  for (const { bytes, gzipped } of report.bundles) expect([bytes, gzipped]).toEqual([expect.any(Number), expect.any(Number)]);
});

test("Stripe's schema: a malformed id, an empty version, an unknown viewport", async () => {
  const manifest = manifestWith((m) => {
    m.id = 'com acme';
    m.version = '';
    m.ui_extension!.views!.push({ viewport: 'stripe.dashboard.nowhere', component: 'App' });
  });
  expect(await problemsOf({ manifest })).toEqual([
    problem('stripe-app.json', 'id must match pattern', 'app-manifest'),
    problem('stripe-app.json', 'version must NOT have fewer than 1 characters', 'app-manifest'),
    problem('stripe-app.json', 'ui_extension.views.2.viewport must be equal to one of the allowed values: onboarding, settings', 'app-manifest'),
  ]);
});

test('the icon: missing, not a PNG, or not 300×300', async () => {
  const pngHeader = (width: number, height: number) => {
    const png = Buffer.alloc(24);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).copy(png);
    png.write('IHDR', 12, 'ascii');
    png.writeUInt32BE(width, 16);
    png.writeUInt32BE(height, 20);
    return png;
  };
  const fix = 'give icon a 300×300 PNG file';
  expect(await problemsOf({ manifest: manifestWith((m) => (m.icon = './missing.png')) })).toEqual([problem('stripe-app.json', 'icon ./missing.png does not exist', fix)]);
  expect(await problemsOf({ files: { 'icon.png': 'GIF89a, not a PNG at all' } })).toEqual([problem('stripe-app.json', 'icon ./icon.png is not a PNG image', fix)]);
  expect(await problemsOf({ files: { 'icon.png': pngHeader(64, 64) } })).toEqual([problem('stripe-app.json', 'icon ./icon.png is 64×64 pixels', fix)]);
});

test("views: a component without its file, no drawer view, no settings view while the post-install action opens settings", async () => {
  expect(await problemsOf({ manifest: manifestWith((m) => (m.ui_extension!.views![1].component = 'Gone')) })).toEqual([
    problem('stripe-app.json', "the settings view's component Gone has no file src/views/Gone.tsx", 'create it'),
  ]);
  expect(await problemsOf({ manifest: manifestWith((m) => m.ui_extension!.views!.splice(0, 1)) })).toEqual([
    problem('stripe-app.json', 'no view for the stripe.dashboard.drawer.default viewport', 'add { "viewport": "stripe.dashboard.drawer.default"'),
  ]);
  expect(await problemsOf({ manifest: manifestWith((m) => m.ui_extension!.views!.splice(1, 1)) })).toEqual([
    problem('stripe-app.json', 'no view for the settings viewport (post_install_action opens settings)', 'add { "viewport": "settings"'),
  ]);
});

test('constants the extension cannot run with', async () => {
  expect(await problemsOf({ manifest: manifestWith((m) => (m.constants.EXCHANGE_MODE = 'sometimes')) })).toEqual([
    problem('stripe-app.json', 'constants: EXCHANGE_MODE must be "backend" or "extension".', 'set it in constants'),
  ]);
});

test("the template's placeholders are reported as not configured", async () => {
  const manifest = manifestWith((m) => {
    m.constants.CLIENT_ID = 'replace-with-your-client-id';
    m.constants.AUTHORIZE_URL = 'https://login.example.com/oauth/authorize';
    m.constants.BACKEND_URL = 'https://broker.example.com';
    m.ui_extension!.content_security_policy!['connect-src'] = ['https://broker.example.com/api/'];
  });
  expect(await problemsOf({ manifest })).toEqual([
    problem('stripe-app.json', "constants.CLIENT_ID is not configured (still the template's replace-with-your-client-id)", 'your client id at the provider'),
    problem('stripe-app.json', 'constants.AUTHORIZE_URL is not configured', "your provider's"),
    problem('stripe-app.json', 'constants.BACKEND_URL is not configured', 'the https origin your backend is deployed at'),
    problem('stripe-app.json', 'connect-src entry https://broker.example.com/api/ is not configured', "BACKEND_URL + /api/"),
  ]);
});

test("connect-src must allow the backend's API, and the provider where the extension calls it directly", async () => {
  const without = (change: (m: Manifest & { constants: Record<string, unknown> }) => void) =>
    problemsOf({ manifest: manifestWith((m) => {
      change(m);
      m.ui_extension!.content_security_policy!['connect-src'] = ['https://broker.acme.test/api/token/other'];
    }) });
  const csp = (what: string, entry: string) => problem('stripe-app.json', `content_security_policy.connect-src does not allow ${what}`, `add "${entry}"`);
  expect(await without(() => undefined)).toEqual([csp("the backend's API", 'https://broker.acme.test/api/')]);
  expect(await without((m) => (m.constants.API_ACCESS = 'direct'))).toEqual([
    csp("the backend's API", 'https://broker.acme.test/api/'),
    csp("the provider's API (API_ACCESS direct)", 'https://api.acme.test/'),
  ]);
  expect(await without((m) => (m.constants.EXCHANGE_MODE = 'extension'))).toEqual([
    csp("the backend's API", 'https://broker.acme.test/api/'),
    csp("the provider's API (API_ACCESS direct)", 'https://api.acme.test/'),
    csp("the provider's token URL (EXCHANGE_MODE extension)", 'https://id.acme.test/token'),
  ]);
});

test('loopback URLs are a problem in the uploaded manifest, not in the local one merged over it', async () => {
  const local: Manifest = {
    extends: 'stripe-app.json',
    ui_extension: { views: cleanManifest().ui_extension!.views, content_security_policy: { 'connect-src': ['http://127.0.0.1:8787/api/'], purpose: 'Calls the local backend.' } },
    constants: { BACKEND_URL: 'http://127.0.0.1:8787' },
  };
  const root = appDir({ local });
  expect((await checkApp({ root, local: true })).problems).toEqual([]);
  const uploaded = manifestWith((m) => Object.assign(m, { ui_extension: local.ui_extension, constants: { ...m.constants, ...local.constants } }));
  expect(await problemsOf({ manifest: uploaded })).toEqual([
    problem('stripe-app.json', 'constants.BACKEND_URL is a loopback URL (http://127.0.0.1:8787): the Dashboard cannot reach it', 'keep local URLs in stripe-app.local.json'),
  ]);
  // The local file's constants are checked as merged over the base's.
  expect((await checkApp({ root: appDir({ local: { ...local, constants: { CLIENT_ID: 'replace-with-your-client-id' } } }), local: true })).problems).toEqual([
    problem('stripe-app.json + stripe-app.local.json', 'constants.CLIENT_ID is not configured', 'your client id'),
    problem('stripe-app.json + stripe-app.local.json', 'connect-src does not allow', 'https://broker.acme.test/api/'),
  ]);
});

test('permissions the code uses must be declared', async () => {
  const files = {
    'server/http/webhooks.ts': "if (event.type === 'account.application.deauthorized') forget();\n",
    'src/lib/check.ts': "await isPermissionAuthorized('customer_read');\n",
  };
  expect(await problemsOf({ manifest: manifestWith((m) => (m.permissions = [])), files })).toEqual([
    problem('stripe-app.json', 'permission secret_write is not declared, but the views keep tokens in the Secret Store', 'stripe apps grant permission secret_write'),
    problem('stripe-app.json', 'permission event_read is not declared, but the backend handles the uninstall event', 'stripe apps grant permission event_read'),
    problem('stripe-app.json', "permission customer_read is not declared, but the views check isPermissionAuthorized('customer_read')", 'stripe apps grant permission customer_read'),
  ]);
});

test("the backend's .env: its configuration problems by variable (no value shown), and where it disagrees with the constants", async () => {
  const env: Record<string, string> = { ...cleanEnv(), TOKEN_SEALING_KEYS: '', STRIPE_APP_SIGNING_SECRET: 'absec_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' };
  const report = await checkApp({ root: appDir({ env }), local: false });
  expect(report.problems).toEqual([
    problem('.env', 'STRIPE_APP_SIGNING_SECRET is too weak', 'see docs/configuration.md'),
    problem('.env', 'TOKEN_SEALING_KEYS is not set', 'see docs/configuration.md'),
  ]);
  expect(JSON.stringify(report)).not.toContain(env.STRIPE_SECRET_KEY_TEST);

  const disagreeing = { ...cleanEnv(), STRIPE_APP_ID: 'com.acme.other', CONNECTION_SCOPE: 'account', OAUTH_CLIENT_ID: 'other-client', OAUTH_API_BASE_URL: 'https://api.other.test' };
  const where = '.env vs stripe-app.json';
  expect(await problemsOf({ env: disagreeing })).toEqual([
    problem(where, `STRIPE_APP_ID is com.acme.other, the manifest's id is ${APP_ID}`, `set STRIPE_APP_ID=${APP_ID}`),
    problem(where, 'CONNECTION_SCOPE is account in the backend, user in the constants', 'set both to the same'),
    problem(where, 'OAUTH_CLIENT_ID is other-client, constants.CLIENT_ID is acme-client', 'use the same client id'),
    problem(where, 'OAUTH_API_BASE_URL starts with https://api.other.test, constants.API_BASE_URL is https://api.acme.test', 'make them the same'),
  ]);
  const withCredentials = await problemsOf({ env: { ...cleanEnv(), OAUTH_API_BASE_URL: 'https://me:hunter2hunter2@api.other.test/v1' } });
  expect(withCredentials).toContainEqual(problem(where, 'OAUTH_API_BASE_URL starts with https://api.other.test/v1, constants.API_BASE_URL', 'make them the same'));
  expect(JSON.stringify(withCredentials)).not.toContain('hunter2');
  const { OAUTH_API_BASE_URL: _unset, ...noProxy } = cleanEnv();
  expect(await problemsOf({ env: noProxy })).toEqual([problem(where, 'OAUTH_API_BASE_URL is not set', 'set OAUTH_API_BASE_URL=https://api.acme.test')]);
});

test("a preset's API base is the backend's too: a .env that names the preset alone agrees with constants that do", async () => {
  const { OAUTH_TOKEN_ENDPOINT: _endpoint, OAUTH_API_BASE_URL: _base, ...rest } = cleanEnv();
  const github = manifestWith((m) => (m.constants = { PROVIDER: 'github', CLIENT_ID: 'acme-client', BACKEND_URL: 'https://broker.acme.test' }));
  expect(await problemsOf({ manifest: github, env: { ...rest, OAUTH_PRESET: 'github' } })).toEqual([]);
  // Another preset's API is still a disagreement.
  expect(await problemsOf({ manifest: github, env: { ...rest, OAUTH_PRESET: 'google' } })).toContainEqual(
    problem('.env vs stripe-app.json', 'OAUTH_API_BASE_URL starts with https://openidconnect.googleapis.com/v1, constants.API_BASE_URL is https://api.github.com', 'make them the same'),
  );
});

test('a view that does not build is named with where it fails', async () => {
  expect(await problemsOf({ files: { 'src/views/AppSettings.tsx': 'export default function AppSettings( {\n' } })).toEqual([
    problem('stripe-app.json', 'the view AppSettings does not build at src/views/AppSettings.tsx:2: Expected identifier but found end of file', 'fix the error'),
  ]);
});

/** `npm run check` as a developer runs it in the app's folder. */
function runCheck(cwd: string, args: string[] = []): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [path.join(ROOT, 'server', 'cli', 'check.ts'), ...args], { cwd, timeout: 60_000 }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout });
    });
  });
}

test('the command: OK and exit 0 when clean; a line per problem with its fix and exit 1 otherwise', async () => {
  const clean = await runCheck(appDir());
  expect(clean.code).toBe(0);
  expect(clean.stdout).toContain(`• register both redirect URIs at the provider (this check cannot see which it has): https://dashboard.stripe.com/test/apps-oauth/${APP_ID} (test mode)`);
  expect(clean.stdout).toMatch(/^• view App: [\d.]+ KB \([\d.]+ KB gzipped\)$/m);
  expect(clean.stdout.trim().split('\n').pop()).toBe('OK: stripe-app.json');

  const broken = await runCheck(appDir({ manifest: manifestWith((m) => (m.constants.CLIENT_ID = 'replace-with-your-client-id')) }), ['--env', 'missing.env']);
  expect(broken.code).toBe(1);
  expect(broken.stdout.split('\n').filter((line) => line.startsWith('✗'))).toEqual([
    "✗ stripe-app.json: constants.CLIENT_ID is not configured (still the template's replace-with-your-client-id) → set it to your client id at the provider",
    "✗ missing.env: does not exist → give --env the backend's environment file (copy .env.example)",
  ]);
  expect(broken.stdout.trim().split('\n').pop()).toBe('2 problem(s) in stripe-app.json');
});
