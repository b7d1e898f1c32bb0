import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readableLine } from '../../server/local/log-lines';
import { createStripeClient } from '../../server/stripe-client';
import { type RunningCommand, startCommand } from '../support/commands';
import type { TestProvider } from '../support/dev-provider';
import { authorize, call, sign, withNonce } from '../support/signed-calls';

test('`npm start` brings up emulator, provider and backend on loopback, wired together, and keeps state in DATA_DIR', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'offline-stack-'));
  const stack = await startCommand('server/local/start.ts', [], { DATA_DIR: dataDir, CONSOLE_PORT: '0', SECRET_STORE_PORT: '0', OAUTH_PROVIDER_PORT: '0', PORT: '0', LOG_LEVEL: 'warn' });
  try {
    // Wait for the last of the three lines.
    for (let i = 0; i < 100 && !/Broker backend/.test(stack.output()); i++) await new Promise((r) => setTimeout(r, 50));
    const url = (label: string) => new RegExp(`${label}\\s+(http://127\\.0\\.0\\.1:\\d+)`).exec(stack.output())![1];
    const store = url('Secret Store emulator');
    const issuer = url('Dev OAuth provider');
    const backend = url('Broker backend');
    // The console's URL comes first, with what to do.
    expect(stack.output().split('\n').find((line) => line.startsWith('Offline Dashboard'))).toMatch(/^Offline Dashboard\s+http:\/\/127\.0\.0\.1:\d+\s+<- open this/);
    expect(stack.url).toBe(url('Offline Dashboard'));
    expect(await (await fetch(`${backend}/healthz`)).json()).toEqual({ ok: true });
    expect(((await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { issuer: string }).issuer).toBe(issuer);
    const stripe = createStripeClient('sk_test_local', { apiBase: store, maxNetworkRetries: 0 });
    await expect(stripe.apps.secrets.list({ scope: { type: 'account' } })).resolves.toMatchObject({ object: 'list' });
    const secrets = JSON.parse(readFileSync(path.join(dataDir, 'local-secrets.json'), 'utf8'));
    expect(secrets.appSigningSecret).toMatch(/^absec_local[0-9a-f]{32}$/);
    expect(secrets.tokenSealingKeys).toMatch(/^local1:[A-Za-z0-9+/]{43}=$/);
    expect(stack.output()).not.toContain(secrets.appSigningSecret);
    expect(stack.output()).not.toContain(secrets.tokenSealingKeys.slice(7));
  } finally {
    expect(await stack.stop()).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the local stack answers pages on this machine only: other Hosts get 421, the console takes JSON from its own page only', async () => {
  // An existing DATA_DIR readable by everyone is tightened, with a warning.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'offline-stack-'));
  chmodSync(dataDir, 0o755);
  writeFileSync(path.join(dataDir, 'local-secrets.json'), '{}', { mode: 0o644 });
  const stack = await startCommand('server/local/start.ts', [], { DATA_DIR: dataDir, CONSOLE_PORT: '0', SECRET_STORE_PORT: '0', OAUTH_PROVIDER_PORT: '0', PORT: '0', LOG_LEVEL: 'warn' });
  try {
    for (let i = 0; i < 100 && !/Broker backend/.test(stack.output()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(stack.output()).toMatch(/readable by other users; tightened/);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const file of readdirSync(dataDir)) expect([file, statSync(path.join(dataDir, file)).mode & 0o777]).toEqual([file, 0o600]);
    const url = (label: string) => new RegExp(`${label}\\s+(http://127\\.0\\.0\\.1:\\d+)`).exec(stack.output())![1];
    // A DNS-rebound page: the request reaches 127.0.0.1, but its Host is the page's own name.
    const rebound = (target: string, path: string) => request(`${target}${path}`, { host: 'attacker.example' });
    for (const [label, path] of [['Offline Dashboard', '/console/state'], ['Secret Store emulator', '/v1/apps/secrets?scope[type]=account'], ['Dev OAuth provider', '/.well-known/openid-configuration'], ['Broker backend', '/healthz']]) {
      expect([label, (await rebound(url(label), path)).status]).toEqual([label, 421]);
      expect([label, (await request(`${url(label)}${path}`, { authorization: 'Bearer sk_test_local' })).status]).not.toEqual([label, 421]);
    }
    // Another site's form post, or its fetch, cannot revoke or expire anything through the console.
    const consoleUrl = url('Offline Dashboard');
    const form = await fetch(`${consoleUrl}/console/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    const crossSite = await fetch(`${consoleUrl}/console/expire`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' }, body: '{}' });
    expect([form.status, crossSite.status]).toEqual([403, 403]);
    const own = await fetch(`${consoleUrl}/console/expire`, { method: 'POST', headers: { 'content-type': 'application/json', origin: consoleUrl, 'sec-fetch-site': 'same-origin' }, body: '{"provider":"dev"}' });
    expect(own.status).toBe(200);
    // What is not the page's JSON is authenticated by what it carries: an embedded key the console issued, a signature.
    const page = { 'content-type': 'application/json', origin: consoleUrl, 'sec-fetch-site': 'same-origin' };
    expect((await fetch(`${consoleUrl}/stripe-api/v1/apps/secrets?scope[type]=account`)).status).toBe(401);
    expect((await fetch(`${consoleUrl}/stripe-api/v1/apps/secrets?scope[type]=account`, { headers: { authorization: 'Bearer ek_test_guessed' } })).status).toBe(401);
    expect((await fetch(`${consoleUrl}/console/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"evt_x"}' })).status).toBe(400);
    // A host call names its view's session; one from before a switch of identity is refused.
    const { session } = (await (await fetch(`${consoleUrl}/console/state`)).json()) as { session: number };
    const keyFor = (s: number) => fetch(`${consoleUrl}/host/fetch-app-embedded-key`, { method: 'POST', headers: page, body: JSON.stringify({ session: s }) });
    const { key } = (await (await keyFor(session)).json()) as { key: string };
    expect((await fetch(`${consoleUrl}/stripe-api/v1/apps/secrets?scope[type]=account`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect((await fetch(`${consoleUrl}/console/select`, { method: 'POST', headers: page, body: JSON.stringify({ mode: 'live' }) })).status).toBe(200);
    expect((await keyFor(session)).status).toBe(409);
    expect((await fetch(`${consoleUrl}/stripe-api/v1/apps/secrets?scope[type]=account`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
  } finally {
    expect(await stack.stop()).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** `npm start` on free ports in a new DATA_DIR, once it printed its last URL; `url(label)` reads a printed one. */
async function startLocal(env: Record<string, string> = {}): Promise<{ stack: RunningCommand; dataDir: string; url(label: string): string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'offline-stack-'));
  const stack = await startCommand('server/local/start.ts', [], { DATA_DIR: dataDir, CONSOLE_PORT: '0', SECRET_STORE_PORT: '0', OAUTH_PROVIDER_PORT: '0', PORT: '0', LOG_LEVEL: 'info', ...env });
  for (let i = 0; i < 100 && !/Broker backend/.test(stack.output()); i++) await new Promise((r) => setTimeout(r, 50));
  return { stack, dataDir, url: (label) => new RegExp(`${label}\\s+(http://127\\.0\\.0\\.1:\\d+)`).exec(stack.output())![1] };
}

/** The console's own page: what its POST routes take. */
const consolePost = (consoleUrl: string, route: string, body: object = {}) =>
  fetch(`${consoleUrl}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: consoleUrl, 'sec-fetch-site': 'same-origin' }, body: JSON.stringify(body) });

interface State {
  services: Array<{ name?: string; kind: string; connection: string }>;
  constants: Record<string, unknown> & { SERVICES?: Record<string, Record<string, unknown>> };
  secrets: Array<{ name: string; scope: string; service: string | null; masked: string }>;
  history: Array<{ service: string; event: string; outcome: string }>;
}
const stateOf = async (consoleUrl: string) => (await (await fetch(`${consoleUrl}/console/state`)).json()) as State;

test('`npm start` serves two services: dev by OAuth and notes by API key; the console shows each, makes a dev API key once, never shows a saved key, and acts on the service named', async () => {
  const { stack, dataDir, url } = await startLocal();
  try {
    const [consoleUrl, issuer, backend] = [url('Offline Dashboard'), url('Dev OAuth provider'), url('Broker backend')];
    const ana = { user_id: 'usr_console_ana', account_id: 'acct_1RocketRides', mode: 'test' as const };
    let state = await stateOf(consoleUrl);
    expect(state.services).toEqual([
      { name: 'dev', kind: 'oauth', connection: 'test/acct_1RocketRides/usr_console_ana/dev' },
      { name: 'notes', kind: 'api_key', connection: 'test/acct_1RocketRides/(account)/notes' },
    ]);
    // The manifest's SERVICES, the dev entry with this run's provider URLs.
    expect(state.constants.SERVICES?.dev).toMatchObject({ PROVIDER: 'dev', AUTHORIZE_URL: `${issuer}/auth`, TOKEN_URL: `${issuer}/token`, API_BASE_URL: `${issuer}/api` });
    expect(state.constants.SERVICES?.notes).toMatchObject({ KIND: 'api_key' });

    // A dev API key of the current user's provider user, answered once to the page: it works at the provider's API.
    const made = await consolePost(consoleUrl, '/console/api-key');
    expect(made.headers.get('cache-control')).toBe('no-store');
    const { api_key, user } = (await made.json()) as { api_key: string; user: string };
    expect(user).toBe('alice');
    expect(await (await fetch(`${issuer}/api/me`, { headers: { authorization: `Bearer ${api_key}` } })).json()).toMatchObject({ sub: 'alice' });

    // Saved at the backend as the drawer saves it: the console lists it in the account scope, never in clear.
    const { appSigningSecret } = JSON.parse(readFileSync(path.join(dataDir, 'local-secrets.json'), 'utf8')) as { appSigningSecret: string };
    const signed = async (route: string, extra: object) => {
      const params = withNonce(extra);
      return call({ url: backend }, route, ana, params, await sign(ana, route, params, { secret: appSigningSecret }));
    };
    expect((await signed('/api/credentials', { provider: 'notes', api_key })).status).toBe(200);
    state = await stateOf(consoleUrl);
    expect(state.secrets.find((secret) => secret.name === 'apikey.notes')).toEqual({ name: 'apikey.notes', scope: 'account', service: 'notes', expires_at: null, generation: null, masked: 'sealed API key (never shown)' });
    expect(state.history).toContainEqual(expect.objectContaining({ service: 'notes', event: 'api key saved', outcome: 'connected' }));
    expect(JSON.stringify(state)).not.toContain(api_key.slice('devkey_'.length));

    // Connected to dev as well: its two secrets, tokens masked, beside the key.
    expect((await signed('/api/oauth/exchange', { provider: 'dev', ...(await authorize({ provider: { issuer } as TestProvider })) })).body.status).toBe('connected');
    const devSecrets = async () => (await stateOf(consoleUrl)).secrets.filter((secret) => secret.service === 'dev').map((secret) => secret.name);
    expect(await devSecrets()).toEqual(['oauth.dev.access', 'oauth.dev.refresh']);

    // Console actions on a connection's secrets act on the OAuth service named: not the API-key one, not none of several.
    expect((await consolePost(consoleUrl, '/console/expire', { provider: 'notes' })).status).toBe(400);
    expect((await consolePost(consoleUrl, '/console/expire')).status).toBe(400);
    expect((await consolePost(consoleUrl, '/console/revoke', { provider: 'nope' })).status).toBe(400);
    expect((await consolePost(consoleUrl, '/console/expire', { provider: 'dev' })).status).toBe(200);
    expect(await devSecrets()).toEqual(['oauth.dev.refresh']);
    expect(await (await consolePost(consoleUrl, '/console/revoke', { provider: 'dev' })).json()).toEqual({ revoked: true });
    expect((await signed('/api/proxy', { provider: 'dev', method: 'GET', path: '/me' })).body.error?.code).toBe('reconnect_required');
    expect((await signed('/api/proxy', { provider: 'notes', method: 'GET', path: '/me' })).body).toMatchObject({ status: 200, body: { sub: 'alice' } });
    expect(stack.output()).not.toContain(api_key.slice('devkey_'.length));
  } finally {
    expect(await stack.stop()).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('LOCAL_ONE_PROVIDER=1: the one unnamed provider as before, and the views get no SERVICES', async () => {
  const { stack, dataDir, url } = await startLocal({ LOCAL_ONE_PROVIDER: '1' });
  try {
    const state = await stateOf(url('Offline Dashboard'));
    expect(state.services).toEqual([{ kind: 'oauth', connection: 'test/acct_1RocketRides/usr_console_ana' }]);
    expect(state.constants.SERVICES).toBeUndefined();
    expect(state.constants).toMatchObject({ PROVIDER: 'dev', AUTHORIZE_URL: `${url('Dev OAuth provider')}/auth` });
    expect((await consolePost(url('Offline Dashboard'), '/console/expire')).status).toBe(200);
    expect((await consolePost(url('Offline Dashboard'), '/console/api-key')).status).toBe(200);
  } finally {
    expect(await stack.stop()).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** A GET with the headers as given (fetch will not send another Host). */
function request(target: string, headers: Record<string, string>): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    http.get(target, { headers }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    }).on('error', reject);
  });
}

const PORT_VARIABLES = ['CONSOLE_PORT', 'SECRET_STORE_PORT', 'OAUTH_PROVIDER_PORT', 'PORT'];

test.each(PORT_VARIABLES)('`npm start` with a taken %s stops with one line naming the variable', async (variable) => {
  const blocker = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => blocker.once('listening', resolve));
  const { port } = blocker.address() as AddressInfo;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'offline-stack-'));
  const ports = Object.fromEntries(PORT_VARIABLES.map((name) => [name, name === variable ? String(port) : '0']));
  try {
    // The whole output is that one line: no stack trace, no unhandled 'error' event.
    await expect(startCommand('server/local/start.ts', [], { DATA_DIR: dataDir, ...ports })).rejects.toThrow(
      new RegExp(`before printing its URL:\\nerror: port ${port} is taken; set ${variable} to a free port\\n$`),
    );
  } finally {
    blocker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('under `npm start` the backend logs readable lines: time, level, message, then the fields', () => {
  const time = new Date(2026, 11, 2, 9, 5, 7).getTime();
  const json = JSON.stringify({ level: 30, time, msg: 'refresh', connection: 'test/acct_1/usr_1', outcome: 'refreshed', latencyMs: 41, error: 'a b' });
  expect(readableLine(json)).toBe('09:05:07 info  refresh  connection=test/acct_1/usr_1 outcome=refreshed latencyMs=41 error="a b"');
  expect(readableLine(JSON.stringify({ level: 40, time, msg: 'slow' }), true)).toBe('\x1b[33m09:05:07 warn  slow\x1b[0m');
  expect(readableLine('not json')).toBe('not json');
});
