/**
 * The manifest against Stripe's published schema (vendored in server/check, it lags the CLI) and
 * the platform rules the schema does not carry: CSP paths, views that exist, permissions that
 * cover what the code uses, constants the extension can run with, a real 300×300 icon.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readAppConfig } from '../../src/lib/app-config';

const ROOT = path.resolve(__dirname, '..', '..');
const SCHEMA = path.join(ROOT, 'server', 'check', 'stripe-app.schema.json');

type Manifest = {
  id: string;
  icon: string;
  permissions: Array<{ permission: string; purpose: string }>;
  ui_extension: { views: Array<{ viewport: string; component: string }>; content_security_policy: { 'connect-src': string[] | null; purpose: string } };
  post_install_action?: { type: string } | null;
  constants?: Record<string, string>;
  extends?: string;
};

const read = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Manifest;
const manifest = read('stripe-app.json');
const local = read('stripe-app.local.json');
/** `stripe apps start --manifest stripe-app.local.json`: the local file's keys over the base. */
const localMerged: Manifest = { ...manifest, ...local, constants: { ...manifest.constants, ...local.constants } };
delete localMerged.extends;

function validator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addKeyword('markdownDescription');
  return ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
}

/** Whether a `connect-src` entry allows a URL: a trailing slash allows the subtree, else the exact URL. */
const allows = (entry: string, url: string) => (entry.endsWith('/') ? url.startsWith(entry) : url === entry || url.split('?')[0] === entry);

describe.each([
  ['stripe-app.json', manifest],
  ['stripe-app.local.json (merged over the base)', localMerged],
])('%s', (_name, m) => {
  test('validates against the published schema (without the "extensions": null the CLI injects)', () => {
    const { extensions: _ignored, ...withoutExtensions } = m as Manifest & { extensions?: null };
    const validate = validator();
    expect(validate(withoutExtensions) ? [] : validate.errors).toEqual([]);
  });

  test('every connect-src entry has a path, and covers every URL the extension calls', () => {
    const connectSrc = m.ui_extension.content_security_policy['connect-src'] ?? [];
    for (const entry of connectSrc) expect(entry).toMatch(/^https?:\/\/[^/]+\/.+/);
    const result = readAppConfig(m.constants);
    if (!result.ok) throw new Error(result.problems.join(' '));
    const { config } = result;
    const direct = config.apiAccess === 'direct' && config.profilePath ? `${config.apiBase}${config.profilePath}` : undefined;
    const called = [`${config.backendUrl}/api/token`, direct, config.exchangeMode === 'extension' ? config.tokenUrl : undefined];
    for (const url of called.filter(Boolean) as string[]) {
      expect({ url, allowed: connectSrc.some((entry) => allows(entry, url)) }).toEqual({ url, allowed: true });
    }
  });
});

test('the production manifest calls https only', () => {
  for (const entry of manifest.ui_extension.content_security_policy['connect-src'] ?? []) expect(entry).toMatch(/^https:/);
  expect(manifest.constants!.BACKEND_URL).toMatch(/^https:/);
});

test('each view points at a default-exported component in src/views', () => {
  for (const { component } of manifest.ui_extension.views) {
    const file = path.join(ROOT, 'src', 'views', `${component}.tsx`);
    expect(existsSync(file)).toBe(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(typeof require(file).default).toBe('function');
  }
  const viewports = manifest.ui_extension.views.map((v) => v.viewport);
  expect(viewports).toContain('stripe.dashboard.drawer.default'); // the viewport that receives oauthContext
  if (manifest.post_install_action?.type === 'settings') expect(viewports).toContain('settings');
});

test('declared permissions cover what the code uses, each with a purpose', () => {
  const declared = manifest.permissions.map((p) => p.permission);
  for (const p of manifest.permissions) expect(p.purpose.length).toBeGreaterThan(10);
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(path.join(dir, e.name)) : [readFileSync(path.join(dir, e.name), 'utf8')]);
  const code = sources(path.join(ROOT, 'src')).join('\n');
  const used = new Set<string>();
  if (/\/v1\/apps\/secrets/.test(code)) used.add('secret_write');
  for (const [, permission] of code.matchAll(/isPermissionAuthorized\('([a-z_]+)'\)/g)) used.add(permission);
  if (/account\.application\.deauthorized/.test(readFileSync(path.join(ROOT, 'server', 'http', 'webhooks.ts'), 'utf8'))) used.add('event_read');
  expect([...used].filter((p) => !declared.includes(p))).toEqual([]);
  expect(used.has('secret_write')).toBe(true);
});

test('the icon is a real 300×300 PNG', () => {
  expect(manifest.icon).toMatch(/^\.\/.+\.png$/);
  const png = readFileSync(path.join(ROOT, manifest.icon));
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.toString('ascii', 12, 16)).toBe('IHDR');
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([300, 300]);
});

test('the local manifest extends the base and keeps its id', () => {
  expect(local.extends).toBe('stripe-app.json');
  expect((local as { id?: string }).id).toBeUndefined();
});
