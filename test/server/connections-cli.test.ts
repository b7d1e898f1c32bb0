/**
 * `npm run connections` against a backend started as in production (`npm run backend`, SQLite),
 * with its admin API on (ADMIN_TOKEN) and events delivered to a real receiver: every command,
 * its tables and JSON, its one-line errors, a wrong token refused with nothing done, a
 * sealing-key rotation finished with `reseal` so the old key can go, and an instance started
 * without a key the registry uses: named at start and in `stats`, nothing lost.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectionKey, fromWire } from '../../src/common/connection-id';
import { DEFAULTS } from '../../server/broker/defaults';
import { TokenSealer } from '../../server/broker/token-sealing';
import { expectAllAlive } from '../support/alive';
import { refreshCount } from '../support/dev-provider';
import { eventually, newUser, ROTATED_KEY_TEXT, SEALING_KEYS_TEXT, type User } from '../support/fixtures';
import { call, connectAll as connectEach } from '../support/signed-calls';
import { ROOT, type RunningCommand } from '../support/commands';
import { type EventReceiver, startEventReceiver } from '../support/event-receiver';
import { advanceUntilDue, backendClock, backendEnv, DASHBOARD_REDIRECT, startBackendProcess } from '../support/fleet';
import { type Stack, stackSuite, storedSecrets, untilDue } from '../support/stack';

const ADMIN_TOKEN = 'admin-token-for-the-cli-suite';
let stack: Stack;
let receiver: EventReceiver;
let backend: RunningCommand;
let dataDir: string;
const outputs: string[] = [];

// What the backends printed is the leak check's input, the running one's included.
stackSuite(['--access-ttl', '3'], (started) => (stack = started), () => [...outputs, backend?.output() ?? '']);
beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'broker-cli-'));
  receiver = await startEventReceiver();
  backend = await startBackend(SEALING_KEYS_TEXT);
});
afterAll(async () => {
  outputs.push(backend.output());
  await backend.stop();
  await receiver.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// Moved to a token's due time where no refresh answer (which corrects the clock) comes between.
const clock = backendClock();

function startBackend(sealingKeys: string): Promise<RunningCommand> {
  return startBackendProcess(backendEnv(stack, {
    ...clock.env,
    DATA_DIR: dataDir,
    ADMIN_TOKEN,
    TOKEN_SEALING_KEYS: sealingKeys,
    EVENTS_WEBHOOK_URL: receiver.url,
    EVENTS_WEBHOOK_SECRET: receiver.secrets.join(','),
  }));
}

async function restartBackend(sealingKeys: string): Promise<void> {
  outputs.push(backend.output());
  await backend.stop();
  backend = await startBackend(sealingKeys);
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run connections -- …args` as an operator runs it (the compiled command line). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'server/production.js'), 'connections', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ADMIN_TOKEN, BROKER_URL: backend.url, DATA_DIR: dataDir, ...env },
      timeout: 60_000,
    }, (err, stdout, stderr) => {
      outputs.push(stdout, stderr);
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const keyOf = (user: User) => connectionKey(fromWire(user));
const connectAll = (users: User[]) => connectEach(stack, backend, users, { redirectUri: DASHBOARD_REDIRECT });

test('a wrong or missing ADMIN_TOKEN gets 401 and nothing else: no data, nothing changed', async () => {
  const user = newUser('cli');
  await connectAll([user]);
  const adminUrl = `${backend.url}/admin/connections/${keyOf(user)}`;
  for (const authorization of ['Bearer wrong-token-of-the-same-sort', `Bearer ${ADMIN_TOKEN}x`, ADMIN_TOKEN, '']) {
    for (const [method, url] of [['GET', `${backend.url}/admin/stats`], ['GET', adminUrl], ['POST', `${adminUrl}/disconnect`], ['POST', `${backend.url}/admin/reseal`]]) {
      const res = await fetch(url, { method, headers: { authorization } });
      expect([res.status, await res.json()]).toEqual([401, { error: { code: 'unauthorized', message: 'This route needs Authorization: Bearer <ADMIN_TOKEN>.' } }]);
    }
  }
  expect((await call(backend, '/api/connection/status', user)).body.status).toBe('connected');
  const refused = await cli(['stats'], { ADMIN_TOKEN: 'wrong-token-of-the-same-sort' });
  expect([refused.code, refused.stdout, refused.stderr.trim().split('\n')]).toEqual([1, '', ["error: the backend refused the admin token (401): ADMIN_TOKEN must be the backend's"]]);
});

test('list, show, refresh, stats and disconnect drive the running backend', async () => {
  const users = [newUser('cli'), newUser('cli')];
  await connectAll(users);
  // Reads, side by side: none changes what another shows.
  const [listed, listedJson, reconnecting, shown] = await Promise.all([
    cli(['list', '--account', users[0].account_id]),
    cli(['list', '--json', '--status', 'connected']),
    cli(['list', '--status', 'reconnect_required']),
    cli(['show', keyOf(users[0])]),
  ]);
  expect(listed.code).toBe(0);
  expect(listed.stdout.split('\n')[0]).toMatch(/^CONNECTION\s+STATUS\s+REASON\s+REFRESHED\s+ACCESS EXPIRES\s+SEALED WITH$/);
  for (const user of users) expect(listed.stdout).toMatch(new RegExp(`^${keyOf(user).replace(/[()]/g, '\\$&')}\\s+connected\\s+-\\s+\\d+s ago\\s+(in \\ds|\\d+s ago)\\s+suite1$`, 'm'));
  const json = JSON.parse(listedJson.stdout) as Array<{ connection: string }>;
  expect(json.map((c) => c.connection)).toEqual(expect.arrayContaining(users.map(keyOf)));
  expect(reconnecting.stdout.trim()).toBe('no connections');

  expect(shown.stdout).toMatch(/^live status\s+connected \(from the Secret Store now\)$/m);
  expect(shown.stdout).toMatch(/^sealed with\s+suite1$/m);

  const before = await refreshCount(stack);
  const refreshed = await cli(['refresh', keyOf(users[0])]);
  expect([refreshed.code, refreshed.stdout.trim()]).toEqual([0, expect.stringMatching(new RegExp(`^refreshed ${keyOf(users[0]).replace(/[()]/g, '\\$&')}: connected, access expires in \\ds$`))]);
  expect(await refreshCount(stack)).toBe(before + 1);

  const disconnected = await cli(['disconnect', keyOf(users[1])]);
  expect(disconnected.stdout.trim()).toBe(`disconnected ${keyOf(users[1])} (grant revoked at the provider)`);
  expect((await call(backend, '/api/connection/status', users[1])).body.status).toBe('not_connected');
  expect(await eventually(() => receiver.accepted().some((e) => e.type === 'connection.disconnected' && e.data.user_id === users[1].user_id && e.data.by === 'operator'))).toBe(true);

  const [stats, statsJson] = await Promise.all([cli(['stats']), cli(['stats', '--json'])]);
  expect(stats.stdout).toMatch(/^connections\s+\d+: \d+ connected \(0 degraded\), 0 reconnect required$/m);
  expect(stats.stdout).toMatch(/^events\s+0 undelivered, 0 failed$/m);
  expect(JSON.parse(statsJson.stdout)).toMatchObject({ sealing: { current_key: 'suite1' }, outbox_depth: 0, events: { delivery: 'on', pending: 0 } });
});

test('events lists what waits for delivery; redeliver sends it now', async () => {
  receiver.down = true;
  const user = newUser('cli');
  await connectAll([user]);
  expect(await eventually(() => receiver.deliveries.some((d) => d.status === 503 && d.body.includes(user.user_id)))).toBe(true);
  const pending = await cli(['events']);
  const line = pending.stdout.split('\n').find((l) => l.includes(keyOf(user)))!;
  expect(line).toMatch(/^evt_[a-f0-9]{32}\s+connection\.connected\s+\S+\s+\d+s ago\s+1\s+in \ds\s+HTTP 503$/);
  receiver.down = false;
  const redelivered = await cli(['redeliver', line.split(/\s+/)[0]]);
  expect(redelivered.stdout.trim()).toBe('1 event(s) queued for delivery again');
  // Delivered now, not at its next attempt (4 s or more after the first).
  expect(await eventually(() => receiver.accepted().some((e) => e.data.user_id === user.user_id), 2500)).toBe(true);
  expect((await cli(['events', '--failed'])).stdout.trim()).toBe('no failed events');
});

test('the admin API answers malformed input with a 4xx JSON error and changes nothing', async () => {
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${backend.url}/admin${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...init.headers } });
  const cases: Array<[string, RequestInit, number, string]> = [
    ['/reseal', { method: 'POST', body: '{"after": ' }, 400, 'invalid_json'],
    ['/reseal', { method: 'POST', body: '{"limit": 0}' }, 400, 'invalid_request'],
    ['/reseal', { method: 'POST', body: '{"per_second": "fast"}' }, 400, 'invalid_request'],
    ['/reseal', { method: 'POST', body: '{"after": "x/y/z"}' }, 400, 'invalid_request'],
    ['/events/redeliver', { method: 'POST', body: '{"ids": ["nope"]}' }, 400, 'invalid_request'],
    ['/events/redeliver', { method: 'POST', body: '{"ids": ["evt_00000000000000000000000000000000"], "failed": true}' }, 400, 'invalid_request'],
    ['/events?state=lost', {}, 400, 'invalid_request'],
    ['/connections?limit=9999', {}, 400, 'invalid_request'],
    ['/connections?mode=demo', {}, 400, 'invalid_request'],
    ['/connections?account=a&account=b', {}, 400, 'invalid_request'],
    ['/connections/test/acct_nobody/usr_nobody/refresh', { method: 'POST' }, 404, 'not_found'],
    ['/nowhere', {}, 404, 'not_found'],
  ];
  for (const [path, init, status, code] of cases) {
    const res = await admin(path, init);
    expect([path, res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([path, status, code]);
  }
});

test('one-line errors in the operator\'s words: an unknown command, connection or event, a bad filter, no backend', async () => {
  const noConnection = 'error: No connection test/acct_nobody/usr_nobody: list connections with `npm run connections -- list`';
  const listEvents = 'list events with `npm run connections -- events` (or `events --failed`)';
  const cases: Array<[string[], string, Record<string, string>?]> = [
    [['frobnicate'], 'error: unknown command frobnicate; see --help'],
    [['show', 'test/acct_nobody/usr_nobody'], noConnection],
    [['refresh', 'test/acct_nobody/usr_nobody'], noConnection],
    [['redeliver', 'evt_nope'], `error: No event evt_nope: ${listEvents}`],
    [['redeliver', `evt_${'0'.repeat(32)}`], `error: No event evt_${'0'.repeat(32)}: ${listEvents}`],
    [['show', 'not-a-connection'], 'error: not-a-connection is not a connection: mode/account/user[/provider], e.g. test/acct_123/usr_456 (or test/acct_123/(account), test/acct_123/usr_456/crm)'],
    [['list', '--after'], 'error: unknown option --after; see --help'],
    [['list', '--status', 'happy'], 'error: --status must be connected, degraded or reconnect_required (got happy)'],
    [['list', '--mode', 'demo'], 'error: --mode must be test or live (got demo)'],
    [['stats'], 'error: no backend answers at http://127.0.0.1:9 (is it running? --url sets where)', { BROKER_URL: 'http://127.0.0.1:9' }],
  ];
  // Side by side: each run is refused, nothing changes.
  const [help, ...runs] = await Promise.all([cli(['--help']), ...cases.map(([args, , env]) => cli(args, env))]);
  expect(runs.map((run, i) => [cases[i][0], run.code, run.stderr.trim()])).toEqual(cases.map(([args, line]) => [args, 1, line]));
  expect(help.stdout).toContain('usage: npm run connections -- <command>');
});

test('after a key rotation, reseal leaves nothing on the old key, which can then be removed with every connection working', async () => {
  // More than a page, so the CLI must follow `next`: a connection past the first page is resealed too.
  const users = Array.from({ length: DEFAULTS.resealPageSize + 1 }, () => newUser('reseal'));
  await connectAll(users);
  await restartBackend(`${ROTATED_KEY_TEXT},${SEALING_KEYS_TEXT}`);
  expect(JSON.parse((await cli(['stats', '--json'])).stdout).sealing).toMatchObject({ current_key: 'suite2', by_key: { suite1: expect.any(Number) } });

  const resealed = await cli(['reseal', '--per-second', '50']);
  expect(resealed.code).toBe(0);
  expect(resealed.stderr).toMatch(/^… \d+ checked so far: \d+ resealed/m);
  expect(resealed.stdout).toMatch(/^reseal done: \d+ resealed/m);
  expect(resealed.stdout).toContain('every refresh secret uses suite2: older keys can be removed from TOKEN_SEALING_KEYS');
  const stats = JSON.parse((await cli(['stats', '--json'])).stdout);
  expect(Object.keys(stats.sealing.by_key)).toEqual(['suite2']);
  for (const user of users) expect(TokenSealer.keyIdOf((await storedSecrets(stack, user)).refresh!.raw)).toBe('suite2');
  expect(resealed.stderr.match(/^… \d+ checked so far/gm)!.length).toBeGreaterThan(1); // one line a page
  // Run again: nothing left to do.
  expect((await cli(['reseal'])).stdout).toMatch(/^reseal done: nothing to do$/m);

  await restartBackend(ROTATED_KEY_TEXT);
  await untilDue(stack, users); // each call refreshes with the re-sealed refresh token
  for (const user of users) expect((await call(backend, '/api/token', user)).status).toBe(200);
}, 90_000); // a page and one of sign-ins, two restarts and paced reseals

test('an instance lacking a key the registry uses warns at start, stats mark it missing here, its connections wait (503) with nothing lost until the key is back', async () => {
  const users = [newUser('missing'), newUser('missing')];
  await restartBackend(`${ROTATED_KEY_TEXT},${SEALING_KEYS_TEXT}`);
  await connectAll(users);
  const sealed = await Promise.all(users.map(async (user) => (await storedSecrets(stack, user)).refresh!.raw));
  // A key left out: this instance holds suite1 only.
  await restartBackend(SEALING_KEYS_TEXT);
  // Logged before it listens, but its log stream may reach the pipe after the URL line.
  expect(await eventually(() => /"level":40,.*"missingKeys":\["suite2"\].*sealing_key_missing/.test(backend.output()))).toBe(true);
  const [statsJson, stats] = await Promise.all([cli(['stats', '--json']), cli(['stats'])]);
  expect(JSON.parse(statsJson.stdout).sealing).toMatchObject({ current_key: 'suite1', missing_here: ['suite2'] });
  expect(stats.stdout).toMatch(/^sealing keys\s+.*suite2 \(missing here\) \d+/m);

  const refreshes = await refreshCount(stack);
  await advanceUntilDue(stack, clock, [backend], users);
  for (const user of users) {
    const token = await call(backend, '/api/token', user);
    expect([token.status, token.body.error?.code]).toEqual([503, 'sealing_key_missing']);
    expect((await call(backend, '/api/connection/status', user)).body).toMatchObject({ status: 'connected', degraded: true, reason: 'sealing_key_missing' });
  }
  expect(await refreshCount(stack)).toBe(refreshes);
  expect(await Promise.all(users.map(async (user) => (await storedSecrets(stack, user)).refresh?.raw))).toEqual(sealed);
  expect(backend.output().match(/"level":50,.*"missingKey":"suite2"/g)).toHaveLength(1);

  // The key put back: no warning, and the same connections work.
  await restartBackend(`${SEALING_KEYS_TEXT},${ROTATED_KEY_TEXT}`);
  expect(backend.output()).not.toContain('missingKeys');
  for (const user of users) {
    // One at a time: each refresh's answer sets this backend's clock back to the provider's.
    await advanceUntilDue(stack, clock, [backend], [user]);
    expect((await call(backend, '/api/token', user)).status).toBe(200);
  }
  expect(await refreshCount(stack)).toBe(refreshes + users.length);
  await expectAllAlive(stack, users);
}, 60_000); // three restarts
