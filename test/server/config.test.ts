import { cacheShare, DEFAULTS, lockTimes } from '../../server/broker/defaults';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { ConfigError, loadConfig } from '../../server/config';
import { ROOT, startCommand } from '../support/commands';
import { startTestProvider } from '../support/dev-provider';
import { fixedKey } from '../support/fixtures';

const SEALING_KEY_TEXT = `k1:${fixedKey('config key 1')}`;
const base = {
  STRIPE_SECRET_KEY_TEST: 'sk_test_abc',
  STRIPE_APP_SIGNING_SECRET: 'absec_Kq3ZtV8mWb2xRn5LpY7cJd4H',
  STRIPE_APP_ID: 'com.example.oauth-broker',
  TOKEN_SEALING_KEYS: SEALING_KEY_TEXT,
  OAUTH_ISSUER: 'https://login.provider.test',
  OAUTH_CLIENT_ID: 'client-1',
};

test('a minimal environment gives the documented defaults', () => {
  const config = loadConfig(base);
  expect(config).toMatchObject({
    secretKeys: { test: 'sk_test_abc' },
    refreshMarginSeconds: 300,
    dataDir: '.data',
    port: 8787,
    providers: [{ oauth: { clientId: 'client-1', clientAuth: 'client_secret_post', timeoutSeconds: 30 }, defaultAccessLifetimeSeconds: 3600 }],
    retryAttempts: 3,
    refreshWaitSeconds: 10,
    keepAliveSeconds: 86_400,
  });
  expect(config.providers[0].oauth?.issuer?.toString()).toBe('https://login.provider.test/');
  expect(config.localStack).toBe(false);
  expect(config.sealingKeys.map((k) => k.id)).toEqual(['k1']);
});

test('OAUTH_RETRY_ATTEMPTS: 1 to 5 token-endpoint attempts', () => {
  expect(loadConfig({ ...base, OAUTH_RETRY_ATTEMPTS: '1' }).retryAttempts).toBe(1);
  for (const value of ['0', '6', 'x']) expect(() => loadConfig({ ...base, OAUTH_RETRY_ATTEMPTS: value })).toThrow(/^OAUTH_RETRY_ATTEMPTS/);
});

test('TOKEN_SEALING_KEYS: the first key seals, all open; ids must be unique, keys 32 bytes, and no key is echoed', () => {
  const second = `k0:${fixedKey('config key 0')}`;
  expect(loadConfig({ ...base, TOKEN_SEALING_KEYS: `${SEALING_KEY_TEXT}, ${second}` }).sealingKeys.map((k) => k.id)).toEqual(['k1', 'k0']);
  const short = `k2:${Buffer.alloc(16, 3).toString('base64')}`;
  for (const value of [short, `${SEALING_KEY_TEXT},${SEALING_KEY_TEXT}`, Buffer.alloc(32).toString('base64'), ' , ']) {
    let message = '';
    try {
      loadConfig({ ...base, TOKEN_SEALING_KEYS: value });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^TOKEN_SEALING_KEYS/);
    expect(message).not.toContain(Buffer.alloc(16, 3).toString('base64').slice(0, 12));
  }
});

test('transport: the Stripe API over https (http only on loopback); PostgreSQL elsewhere with sslmode, or DATABASE_SSL=off', () => {
  expect(loadConfig({ ...base, STRIPE_API_BASE: 'http://127.0.0.1:12111' }).stripeApiBase).toBe('http://127.0.0.1:12111/');
  expect(loadConfig({ ...base, STRIPE_API_BASE: 'https://api.stripe.com' }).stripeApiBase).toBe('https://api.stripe.com/');
  expect(loadConfig({ ...base, DATABASE_URL: 'postgres://u:p@127.0.0.1/broker' }).databaseUrl).toBeDefined();
  expect(loadConfig({ ...base, DATABASE_URL: 'postgres://u:p@db.example.com/broker?sslmode=verify-full' }).databaseUrl).toBeDefined();
  expect(loadConfig({ ...base, DATABASE_URL: 'postgres://u:p@db.example.com/broker', DATABASE_SSL: 'off' }).databaseUrl).toBeDefined();
  expect(loadConfig({ ...base, STRIPE_SIGNATURE_ORDER: 'ids_first', STRIPE_APPLICATION_ID: 'ca_abc' })).toMatchObject({ signatureOrder: 'ids_first', applicationId: 'ca_abc' });
});

test('events and the admin API: EVENTS_WEBHOOK_URL with its whsec_ secrets (https off loopback), ADMIN_TOKEN of 16+ characters; no secret echoed', () => {
  const secret = `whsec_${fixedKey('config events secret')}`;
  const rotated = `whsec_${Buffer.from(fixedKey('config events secret, rotated'), 'base64').subarray(0, 24).toString('base64')}`;
  const adminToken = 'Vx7-admin-qL2pT9';
  const config = loadConfig({ ...base, EVENTS_WEBHOOK_URL: 'https://hooks.example.com/broker', EVENTS_WEBHOOK_SECRET: `${secret}, ${rotated}`, ADMIN_TOKEN: adminToken });
  expect(config.events).toMatchObject({ secrets: [secret, rotated], timeoutMs: 10_000, retrySeconds: 86_400 });
  expect(config.events?.url.toString()).toBe('https://hooks.example.com/broker');
  expect(config.adminToken).toBe(adminToken);
  expect(loadConfig({ ...base, EVENTS_WEBHOOK_URL: 'http://127.0.0.1:4000/events', EVENTS_WEBHOOK_SECRET: secret, EVENTS_RETRY_HOURS: '2' }).events?.retrySeconds).toBe(7200);
  expect(loadConfig({ ...base, EVENTS_WEBHOOK_URL: 'http://127.0.0.1:4000/events', EVENTS_WEBHOOK_SECRET: secret, EVENTS_TIMEOUT_SECONDS: '2' }).events?.timeoutMs).toBe(2000);
  expect(loadConfig(base)).toMatchObject({ events: undefined, adminToken: undefined });
  const refusals: Array<[Record<string, string>, string]> = [
    [{ EVENTS_WEBHOOK_URL: 'http://hooks.example.com/broker', EVENTS_WEBHOOK_SECRET: secret }, 'EVENTS_WEBHOOK_URL must be https (http only on loopback)'],
    [{ EVENTS_WEBHOOK_URL: 'https://hooks.example.com/broker' }, 'EVENTS_WEBHOOK_SECRET is not set (whsec_ and base64 of 24 to 64 random bytes)'],
    [{ EVENTS_WEBHOOK_SECRET: secret }, 'EVENTS_WEBHOOK_SECRET is set but EVENTS_WEBHOOK_URL is not'],
    [{ EVENTS_WEBHOOK_URL: 'https://h.example.com', EVENTS_WEBHOOK_SECRET: `${secret},whsec_${Buffer.alloc(8, 1).toString('base64')}` }, 'EVENTS_WEBHOOK_SECRET: entry 2 must be whsec_ and 24 to 64 bytes in base64'],
    [{ EVENTS_WEBHOOK_URL: 'https://h.example.com', EVENTS_WEBHOOK_SECRET: secret.slice(6) }, 'EVENTS_WEBHOOK_SECRET: entry 1 must be whsec_ and 24 to 64 bytes in base64'],
    [{ EVENTS_WEBHOOK_URL: 'https://h.example.com', EVENTS_WEBHOOK_SECRET: secret, EVENTS_RETRY_HOURS: '0' }, 'EVENTS_RETRY_HOURS must be a whole number from 1 to 720'],
    [{ EVENTS_WEBHOOK_URL: 'https://h.example.com', EVENTS_WEBHOOK_SECRET: secret, EVENTS_TIMEOUT_SECONDS: '61' }, 'EVENTS_TIMEOUT_SECONDS must be a whole number from 1 to 60'],
    [{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN must be at least 16 characters, without spaces'],
    [{ ADMIN_TOKEN: 'sixteen chars with spaces' }, 'ADMIN_TOKEN must be at least 16 characters, without spaces'],
  ];
  for (const [env, message] of refusals) expect(() => loadConfig({ ...base, ...env })).toThrow(message);
});

test('SECRET_STORE_REQUESTS_PER_SECOND: 20 test and 80 live by default, one number for both, or per mode', () => {
  expect(loadConfig(base).secretStoreRequestsPerSecond).toEqual({ test: 20, live: 80 });
  expect(loadConfig({ ...base, SECRET_STORE_REQUESTS_PER_SECOND: '10' }).secretStoreRequestsPerSecond).toEqual({ test: 10, live: 10 });
  expect(loadConfig({ ...base, SECRET_STORE_REQUESTS_PER_SECOND: 'live=90' }).secretStoreRequestsPerSecond).toEqual({ test: 20, live: 90 });
  for (const value of ['0', 'fast', 'test=', 'demo=3', '2.5']) {
    expect(() => loadConfig({ ...base, SECRET_STORE_REQUESTS_PER_SECOND: value })).toThrow('SECRET_STORE_REQUESTS_PER_SECOND must be a whole number from 1 to 10000, or test=N,live=M');
  }
});

test('ACCESS_CACHE_MB: an eighth of the heap limit (and of its old generation) by default, 0 turns the cache off, at most the heap limit; ACCESS_CACHE_ENTRIES is refused', () => {
  const heapLimit = getHeapStatistics().heap_size_limit;
  const heapMb = Math.floor(heapLimit / 2 ** 20);
  expect(loadConfig(base).cacheBytes).toBe(cacheShare(heapLimit));
  expect(loadConfig({ ...base, ACCESS_CACHE_MB: '64' }).cacheBytes).toBe(64 * 2 ** 20);
  expect(loadConfig({ ...base, ACCESS_CACHE_MB: '0' }).cacheBytes).toBe(0);
  expect(loadConfig({ ...base, ACCESS_CACHE_MB: String(heapMb) }).cacheBytes).toBe(heapMb * 2 ** 20);
  for (const value of ['-1', '1.5', 'lots', String(heapMb + 1)]) {
    expect(() => loadConfig({ ...base, ACCESS_CACHE_MB: value })).toThrow(`ACCESS_CACHE_MB must be a whole number from 0 to ${heapMb}`);
  }
  expect(() => loadConfig({ ...base, ACCESS_CACHE_ENTRIES: '100000' })).toThrow('ACCESS_CACHE_ENTRIES is replaced by ACCESS_CACHE_MB (the cache is bounded by memory)');
});

test('STRIPE_SECRET_KEY fills the mode its prefix names; explicit endpoints replace discovery', () => {
  const { STRIPE_SECRET_KEY_TEST: _unused, OAUTH_ISSUER: _issuer, ...rest } = base;
  const config = loadConfig({ ...rest, STRIPE_SECRET_KEY: 'rk_live_xyz', OAUTH_TOKEN_ENDPOINT: 'https://p.example/token', OAUTH_REVOCATION_ENDPOINT: 'https://p.example/revoke' });
  expect(config.secretKeys).toEqual({ live: 'rk_live_xyz' });
  expect(config.providers[0].oauth?.tokenEndpoint?.toString()).toBe('https://p.example/token');
  expect(config.providers[0].oauth?.issuer).toBeUndefined();
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
  ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }],
  ['STRIPE_APP_ID', { STRIPE_APP_ID: undefined }],
  ['STRIPE_APP_ID', { STRIPE_APP_ID: 'has spaces/and slashes' }],
  ['TOKEN_SEALING_KEYS', { TOKEN_SEALING_KEYS: undefined }],
  ['HTTP_REQUEST_TIMEOUT_SECONDS', { HTTP_REQUEST_TIMEOUT_SECONDS: '0' }],
  ['STRIPE_API_BASE', { STRIPE_API_BASE: 'http://stripe.example.com' }],
  ['DATABASE_URL', { DATABASE_URL: 'postgres://u:p@db.example.com/broker' }],
  ['DATABASE_SSL', { DATABASE_URL: 'postgres://u:p@db.example.com/broker', DATABASE_SSL: 'maybe' }],
  ['STRIPE_SIGNATURE_ORDER', { STRIPE_SIGNATURE_ORDER: 'sorted' }],
  ['STRIPE_APPLICATION_ID', { STRIPE_APPLICATION_ID: 'com.example.oauth-broker' }],
])('a missing or malformed %s is named', (name, change) => {
  expect(() => loadConfig({ ...base, ...change })).toThrow(new RegExp(`^${name}`));
});

test('every problem is listed at once, a line each in the order of the variables; a malformed value is not also reported missing', () => {
  const problemsOf = (env: Record<string, string | undefined>) => {
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toBe((err as ConfigError).problems.join('\n'));
      return (err as ConfigError).problems;
    }
    throw new Error('loadConfig accepted the environment');
  };
  expect(problemsOf({})).toEqual([
    'STRIPE_SECRET_KEY_TEST or STRIPE_SECRET_KEY_LIVE (or STRIPE_SECRET_KEY) is not set',
    'STRIPE_APP_SIGNING_SECRET is not set',
    'STRIPE_APP_ID is not set',
    'TOKEN_SEALING_KEYS is not set',
    'OAUTH_ISSUER or OAUTH_TOKEN_ENDPOINT is not set',
    'OAUTH_CLIENT_ID is not set',
  ]);
  expect(problemsOf({ ...base, PORT: '70000', DATABASE_URL: 'mysql://localhost/db' })).toEqual(['DATABASE_URL must be a postgres:// URL', 'PORT must be a whole number from 0 to 65535']);
  const { OAUTH_ISSUER: _issuer, ...noIssuer } = base;
  expect(problemsOf({ ...noIssuer, OAUTH_TOKEN_ENDPOINT: 'ftp://p.example/token' })).toEqual(['OAUTH_TOKEN_ENDPOINT is not an http(s) URL']);
});

describe('npm run backend', () => {
  const script = 'server/production.js';

  test.each(['OAUTH_CLIENT_ID', 'TOKEN_SEALING_KEYS'])('stops at start-up with one line naming a missing %s', (name) => {
    const result = spawnSync(process.execPath, [path.join(ROOT, script)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...base, [name]: '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe(`error: ${name} is not set`);
  });

  test('stops at start-up with a count and an indented line per problem when there are several', () => {
    const result = spawnSync(process.execPath, [path.join(ROOT, script)], { cwd: ROOT, env: { PATH: process.env.PATH, ...base, PORT: 'x', OAUTH_CLIENT_ID: '' }, encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('error: 2 configuration problems:\n  OAUTH_CLIENT_ID is not set\n  PORT must be a whole number from 0 to 65535');
  });

  test('listens, prints its URL, answers healthz, makes DATA_DIR private, cuts off stalled requests, stops cleanly on SIGTERM', async () => {
    const provider = await startTestProvider();
    const parent = mkdtempSync(path.join(os.tmpdir(), 'backend-'));
    const dataDir = path.join(parent, 'data');
    // A DATA_DIR an earlier version (or a copy) left readable to everyone.
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(path.join(dataDir, 'left-over.sqlite'), '', { mode: 0o644 });
    try {
      const backend = await startCommand(script, [], { ...base, OAUTH_ISSUER: provider.issuer, PORT: '0', DATA_DIR: dataDir, HTTP_REQUEST_TIMEOUT_SECONDS: '1' });
      try {
        expect(backend.output()).toMatch(/^Broker backend listening on http:\/\/127\.0\.0\.1:\d+$/m);
        expect(await (await fetch(`${backend.url}/healthz`)).json()).toEqual({ ok: true });
        expect(statSync(dataDir).mode & 0o777).toBe(0o700);
        for (const file of readdirSync(dataDir)) expect([file, statSync(path.join(dataDir, file)).mode & 0o777]).toEqual([file, 0o600]);
        expect(backend.output()).toMatch(/DATA_DIR was readable by other users; tightened/);
        // A client that never finishes its headers is disconnected (Node's defaults wait 60 s and more).
        const { port } = new URL(backend.url);
        const closedAfter = await new Promise<number>((resolve) => {
          const started = Date.now();
          const socket = connect(Number(port), '127.0.0.1', () => socket.write('POST /api/token HTTP/1.1\r\nHost: x\r\n'));
          socket.on('close', () => resolve(Date.now() - started));
          socket.on('error', () => undefined);
          socket.resume(); // read the 408, so the close is seen
          setTimeout(() => {
            socket.destroy();
            resolve(Infinity);
          }, 8000).unref();
        });
        expect(closedAfter).toBeLessThan(8000);
      } finally {
        expect(await backend.stop()).toBe(0);
      }
    } finally {
      await provider.stop();
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

// The connection lock's lease: the provider's timeout × attempts and a margin (LOCK_LEASE_MARGIN_SECONDS).
test('the default lease: 30 s × 3 attempts + 2 s, and a waiter gives up 3 s after it', () => {
  expect(loadConfig(base).lockLeaseMarginSeconds).toBe(2);
  expect(lockTimes(DEFAULTS.providerTimeoutSeconds)).toEqual({ leaseMs: 92_000, waitMs: 95_000 });
});

test('LOCK_LEASE_MARGIN_SECONDS: 0.5 to 60 seconds, to a tenth, added to the timeout × attempts', () => {
  const margin = loadConfig({ ...base, LOCK_LEASE_MARGIN_SECONDS: '0.5' }).lockLeaseMarginSeconds;
  expect(margin).toBe(0.5);
  expect(lockTimes(2, 1, margin)).toEqual({ leaseMs: 2500, waitMs: 5500 });
  expect(loadConfig({ ...base, LOCK_LEASE_MARGIN_SECONDS: '60' }).lockLeaseMarginSeconds).toBe(60);
  for (const value of ['0.4', '0', '60.1', '1.25', '-1', '1e1', 'x', '.5']) {
    expect(() => loadConfig({ ...base, LOCK_LEASE_MARGIN_SECONDS: value })).toThrow(/^LOCK_LEASE_MARGIN_SECONDS must be a number of seconds from 0.5 to 60/);
  }
});
