import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Stripe from 'stripe';
import { createStripeClient } from '../../server/stripe-client';
import { startCommand } from '../support/commands';
import { startSecretStore, TestSecretStore } from '../support/secret-store';

const alice = { type: 'user' as const, user: 'usr_alice' };
const bob = { type: 'user' as const, user: 'usr_bob' };

let store: TestSecretStore;
let stripe: Stripe;

beforeEach(async () => {
  store = await startSecretStore();
  stripe = store.client();
});
afterEach(() => store.close());

async function rejection(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail');
}

describe('set, find, delete through the official SDK', () => {
  test('set returns the secret without its payload; find returns it only when expanded', async () => {
    const created = await stripe.apps.secrets.create({ name: 'token', payload: 'a b&c=d', scope: alice });
    expect(created).toMatchObject({ object: 'apps.secret', name: 'token', expires_at: null, livemode: false, scope: alice });
    expect(created.id).toMatch(/^appsecret_[A-Za-z0-9]{30}$/);
    expect(created).not.toHaveProperty('payload');
    expect(created.lastResponse.requestId).toMatch(/^req_/);

    const plain = await stripe.apps.secrets.find({ name: 'token', scope: alice });
    expect(plain).not.toHaveProperty('payload');
    const expanded = await stripe.apps.secrets.find({ name: 'token', scope: alice, expand: ['payload'] });
    expect(expanded.payload).toBe('a b&c=d');
    expect(expanded.id).toBe(created.id);
  });

  test('an account-scoped secret has no user in its scope', async () => {
    const created = await stripe.apps.secrets.create({ name: 'k', payload: 'v', scope: { type: 'account' } });
    expect(created.scope).toEqual({ type: 'account' });
  });

  test('set replaces by name: same id, new payload, expiry cleared when omitted', async () => {
    const first = await stripe.apps.secrets.create({ name: 'token', payload: 'one', scope: alice, expires_at: store.clock.now + 60 });
    const second = await stripe.apps.secrets.create({ name: 'token', payload: 'two', scope: alice });
    expect(second.id).toBe(first.id);
    expect(second.expires_at).toBeNull();
    const found = await stripe.apps.secrets.find({ name: 'token', scope: alice, expand: ['payload'] });
    expect(found.payload).toBe('two');
  });

  test('deleteWhere removes the secret; a missing name is a 404 "No such secret"', async () => {
    const created = await stripe.apps.secrets.create({ name: 'token', payload: 'x', scope: alice });
    const deleted = await stripe.apps.secrets.deleteWhere({ name: 'token', scope: alice });
    expect(deleted).toMatchObject({ id: created.id, deleted: true });
    const err = await rejection(stripe.apps.secrets.find({ name: 'token', scope: alice }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 404, code: 'resource_missing', message: "No such secret: 'token'" });
    expect(err.requestId).toMatch(/^req_/);
    expect(await rejection(stripe.apps.secrets.deleteWhere({ name: 'token', scope: alice }))).toMatchObject({ statusCode: 404 });
  });
});

describe('the 10-secret limit', () => {
  test('an 11th name is refused, a replace at the limit is not, and a delete makes room', async () => {
    for (let i = 0; i < 10; i++) await stripe.apps.secrets.create({ name: `s${i}`, payload: 'x', scope: alice });
    const err = await rejection(stripe.apps.secrets.create({ name: 's10', payload: 'x', scope: alice }));
    expect(err).toMatchObject({ statusCode: 400, code: 'secret_limit_exceeded' });
    await stripe.apps.secrets.create({ name: 's3', payload: 'replaced', scope: alice });
    await stripe.apps.secrets.create({ name: 'other-user', payload: 'x', scope: bob });
    await stripe.apps.secrets.deleteWhere({ name: 's0', scope: alice });
    await expect(stripe.apps.secrets.create({ name: 's10', payload: 'x', scope: alice })).resolves.toMatchObject({ name: 's10' });
  });
});

describe('expiry', () => {
  test('a secret is found until its expires_at and is gone (find, list, count) from that second on', async () => {
    const expiresAt = store.clock.now + 100;
    await stripe.apps.secrets.create({ name: 'short', payload: 'x', scope: alice, expires_at: expiresAt });
    store.clock.now = expiresAt - 1;
    expect((await stripe.apps.secrets.find({ name: 'short', scope: alice })).expires_at).toBe(expiresAt);
    store.clock.now = expiresAt;
    expect(await rejection(stripe.apps.secrets.find({ name: 'short', scope: alice }))).toMatchObject({ statusCode: 404 });
    expect((await stripe.apps.secrets.list({ scope: alice })).data).toHaveLength(0);
    for (let i = 0; i < 10; i++) await stripe.apps.secrets.create({ name: `s${i}`, payload: 'x', scope: alice });
  });

  test('expires_at in the past, now, or more than 100 years ahead is a 400 on expires_at', async () => {
    const now = store.clock.now;
    for (const expires_at of [now - 1, now, now + 101 * 366 * 86400]) {
      const err = await rejection(stripe.apps.secrets.create({ name: 'x', payload: 'x', scope: alice, expires_at }));
      expect(err).toMatchObject({ statusCode: 400, param: 'expires_at' });
    }
    await expect(stripe.apps.secrets.create({ name: 'x', payload: 'x', scope: alice, expires_at: now + 99 * 365 * 86400 })).resolves.toBeTruthy();
  });
});

describe('list', () => {
  test('newest first, pages with has_more and cursors, and the SDK auto-pagination walks every page', async () => {
    for (let i = 0; i < 10; i++) await stripe.apps.secrets.create({ name: `s${i}`, payload: `p${i}`, scope: alice });
    const first = await stripe.apps.secrets.list({ scope: alice, limit: 3 });
    expect(first).toMatchObject({ object: 'list', url: '/v1/apps/secrets', has_more: true });
    expect(first.data.map((s) => s.name)).toEqual(['s9', 's8', 's7']);
    expect(first.data[0]).not.toHaveProperty('payload');

    const all = await stripe.apps.secrets.list({ scope: alice, limit: 3, expand: ['data.payload'] }).autoPagingToArray({ limit: 100 });
    expect(all.map((s) => s.name)).toEqual(['s9', 's8', 's7', 's6', 's5', 's4', 's3', 's2', 's1', 's0']);
    expect(all.map((s) => s.payload)).toEqual(['p9', 'p8', 'p7', 'p6', 'p5', 'p4', 'p3', 'p2', 'p1', 'p0']);

    const last = await stripe.apps.secrets.list({ scope: alice, limit: 3, starting_after: all[8].id });
    expect(last.data.map((s) => s.name)).toEqual(['s0']);
    expect(last.has_more).toBe(false);
    const before = await stripe.apps.secrets.list({ scope: alice, limit: 3, ending_before: all[5].id });
    expect(before.data.map((s) => s.name)).toEqual(['s7', 's6', 's5']);
    expect(before.has_more).toBe(true);
  });
});

describe('isolation', () => {
  test('accounts, modes, users and the account scope never see each other', async () => {
    const live = store.client('sk_live_emulator');
    const otherKey = store.client('sk_test_someoneelse');
    await stripe.apps.secrets.create({ name: 'token', payload: 'alice-test', scope: alice });
    await stripe.apps.secrets.create({ name: 'token', payload: 'alice-acct1', scope: alice }, { stripeAccount: 'acct_1' });
    await live.apps.secrets.create({ name: 'token', payload: 'alice-live', scope: alice });

    const payload = async (client: Stripe, scope: typeof alice | { type: 'account' }, stripeAccount?: string) =>
      (await client.apps.secrets.find({ name: 'token', scope, expand: ['payload'] }, { stripeAccount })).payload;
    expect(await payload(stripe, alice)).toBe('alice-test');
    expect(await payload(stripe, alice, 'acct_1')).toBe('alice-acct1');
    expect(await payload(live, alice)).toBe('alice-live');
    expect((await live.apps.secrets.find({ name: 'token', scope: alice })).livemode).toBe(true);
    for (const attempt of [
      stripe.apps.secrets.find({ name: 'token', scope: bob }),
      stripe.apps.secrets.find({ name: 'token', scope: { type: 'account' } }),
      stripe.apps.secrets.find({ name: 'token', scope: alice }, { stripeAccount: 'acct_2' }),
      otherKey.apps.secrets.find({ name: 'token', scope: alice }),
      live.apps.secrets.find({ name: 'token', scope: alice }, { stripeAccount: 'acct_1' }),
    ]) {
      expect(await rejection(attempt)).toMatchObject({ statusCode: 404 });
    }
  });
});

describe('idempotency keys', () => {
  test('the same key and params replay the first answer; other params are an idempotency error', async () => {
    const first = await stripe.apps.secrets.create({ name: 'a', payload: '1', scope: alice }, { idempotencyKey: 'key-1' });
    const again = await stripe.apps.secrets.create({ name: 'a', payload: '1', scope: alice }, { idempotencyKey: 'key-1' });
    expect(again.id).toBe(first.id);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    const err = await rejection(stripe.apps.secrets.create({ name: 'a', payload: '2', scope: alice }, { idempotencyKey: 'key-1' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    const found = await stripe.apps.secrets.find({ name: 'a', scope: alice, expand: ['payload'] });
    expect(found.payload).toBe('1');
  });

  test('a replayed delete answers as the first time, even though the secret is gone', async () => {
    await stripe.apps.secrets.create({ name: 'a', payload: '1', scope: alice });
    const first = await stripe.apps.secrets.deleteWhere({ name: 'a', scope: alice }, { idempotencyKey: 'del-1' });
    const again = await stripe.apps.secrets.deleteWhere({ name: 'a', scope: alice }, { idempotencyKey: 'del-1' });
    expect(again).toMatchObject({ id: first.id, deleted: true });
  });

  test('a lost response is retried by the SDK with its key and the write happens once', async () => {
    const retrying = store.client('sk_test_emulator', 2);
    await retrying.apps.secrets.create({ name: 'base', payload: 'x', scope: alice });
    store.emulator.faults.inject({ kind: 'drop_after', route: 'POST /v1/apps/secrets' });
    const created = await retrying.apps.secrets.create({ name: 'token', payload: 'v1', scope: alice });
    expect(created.lastResponse.headers['idempotent-replayed']).toBe('true');
    const all = await retrying.apps.secrets.list({ scope: alice });
    expect(all.data.map((s) => s.name)).toEqual(['token', 'base']);
  });
});

describe('fault injection', () => {
  test('a 500 fails a call without retries and is retried away by the SDK with retries', async () => {
    store.emulator.faults.inject({ kind: 'http500', count: 1 });
    expect(await rejection(stripe.apps.secrets.create({ name: 'a', payload: '1', scope: alice }))).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(await rejection(stripe.apps.secrets.find({ name: 'a', scope: alice }))).toMatchObject({ statusCode: 404 });
    store.emulator.faults.inject({ kind: 'http500', count: 1 });
    await expect(store.client('sk_test_emulator', 1).apps.secrets.create({ name: 'a', payload: '1', scope: alice })).resolves.toBeTruthy();
  });

  test('a 429 is a rate-limit error; a dropped connection is a connection error; faults can target one route', async () => {
    store.emulator.faults.inject({ kind: 'http429', route: 'GET /v1/apps/secrets/find' });
    await stripe.apps.secrets.create({ name: 'a', payload: '1', scope: alice });
    expect(await rejection(stripe.apps.secrets.find({ name: 'a', scope: alice }))).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    await expect(stripe.apps.secrets.find({ name: 'a', scope: alice })).resolves.toBeTruthy();
    store.emulator.faults.inject({ kind: 'drop', count: 2 });
    expect(await rejection(stripe.apps.secrets.list({ scope: alice }))).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    await expect(stripe.apps.secrets.list({ scope: alice })).resolves.toBeTruthy();
  });
});

describe('bad input over raw HTTP', () => {
  const auth = { Authorization: 'Bearer sk_test_emulator' };
  const form = { ...auth, 'Content-Type': 'application/x-www-form-urlencoded' };
  const post = (path: string, body: string, headers: Record<string, string> = form) =>
    fetch(`${store.url}${path}`, { method: 'POST', headers, body });
  const get = (path: string, headers: Record<string, string> = auth) => fetch(`${store.url}${path}`, { headers });

  async function expectError(response: Response, status: number, match: Record<string, unknown> = {}) {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    const body = (await response.json()) as { error: unknown };
    expect(body.error).toMatchObject({ type: expect.any(String), message: expect.any(String), ...match });
  }

  test('authentication and routing', async () => {
    await expectError(await get('/v1/apps/secrets?scope[type]=account', {}), 401);
    await expectError(await get('/v1/apps/secrets?scope[type]=account', { Authorization: 'Bearer pk_test_abc' }), 401);
    const basic = await get('/v1/apps/secrets?scope[type]=account', { Authorization: `Basic ${Buffer.from('sk_test_emulator:').toString('base64')}` });
    expect(basic.status).toBe(200);
    await expectError(await get('/v1/apps/secrets/abc'), 404, { message: 'Unrecognized request URL (GET: /v1/apps/secrets/abc).' });
    await expectError(await fetch(`${store.url}/v1/apps/secrets`, { method: 'DELETE', headers: auth }), 404);
    await expectError(await get('/v1/apps/secrets?scope[type]=account', { ...auth, 'Stripe-Account': 'not-an-account' }), 400);
  });

  test.each([
    ['missing name', 'payload=x&scope[type]=account', 'parameter_missing', 'name'],
    ['missing payload', 'name=x&scope[type]=account', 'parameter_missing', 'payload'],
    ['missing scope', 'name=x&payload=x', 'parameter_missing', 'scope'],
    ['missing scope type', 'name=x&payload=x&scope[user]=usr_1', 'parameter_missing', 'scope[type]'],
    ['user scope without user', 'name=x&payload=x&scope[type]=user', 'parameter_missing', 'scope[user]'],
    ['account scope with user', 'name=x&payload=x&scope[type]=account&scope[user]=usr_1', 'parameter_invalid', 'scope[user]'],
    ['bad scope type', 'name=x&payload=x&scope[type]=team', 'parameter_invalid', 'scope[type]'],
    ['unknown param', 'name=x&payload=x&scope[type]=account&colour=red', 'parameter_unknown', 'colour'],
    ['unknown scope key', 'name=x&payload=x&scope[type]=account&scope[x]=1', 'parameter_unknown', 'scope[x]'],
    ['name as object', 'name[a]=x&payload=x&scope[type]=account', 'parameter_invalid', 'name'],
    ['scope as string', 'name=x&payload=x&scope=account', 'parameter_invalid', 'scope'],
    ['non-integer expiry', 'name=x&payload=x&scope[type]=account&expires_at=tomorrow', 'parameter_invalid_integer', 'expires_at'],
    ['long payload', `name=x&payload=${'a'.repeat(5001)}&scope[type]=account`, 'parameter_invalid_string_too_long', 'payload'],
    ['long name', `name=${'a'.repeat(5001)}&payload=x&scope[type]=account`, 'parameter_invalid_string_too_long', 'name'],
    ['bad expand', 'name=x&payload=x&scope[type]=account&expand[0]=scope.user', 'parameter_invalid', 'expand'],
    ['duplicate name', 'name=x&name=y&payload=x&scope[type]=account', 'parameter_invalid', 'name'],
    ['mixed list/object', 'name=x&payload=x&scope[type]=account&expand[0]=payload&expand[a]=b', 'parameter_invalid', 'expand'],
  ])('set with %s is a 400 naming the param', async (_label, body, code, param) => {
    await expectError(await post('/v1/apps/secrets', body), 400, { code, param });
  });

  test('malformed bodies, other content types and huge bodies get a 4xx, never a 5xx', async () => {
    await expectError(await post('/v1/apps/secrets', 'name=%E0%A4%A&payload=x'), 400);
    const badValue = await post('/v1/apps/secrets', 'name=x&payload=tok_secret_value%ZZ&scope[type]=account');
    const badBody = await badValue.clone().text();
    await expectError(badValue, 400);
    expect(badBody).toContain('the value of payload');
    expect(badBody).not.toContain('tok_secret_value');
    await expectError(await post('/v1/apps/secrets', 'name[=x&payload=x'), 400);
    await expectError(await post('/v1/apps/secrets', 'a[b][c][d][e]=1'), 400);
    // Names that reach the prototype: with them a write could slip past the idempotency-key check.
    for (const name of ['__proto__[name]', 'scope[__proto__][type]', 'constructor[prototype][x]', 'scope[constructor]', 'prototype']) {
      await expectError(await post('/v1/apps/secrets', `${name}=x&name=n&payload=p&scope[type]=account`), 400);
    }
    await expectError(await post('/v1/apps/secrets', '{"name":"x"}', { ...auth, 'Content-Type': 'application/json' }), 400);
    await expectError(await post('/v1/apps/secrets', `payload=${'a'.repeat(2 * 1024 * 1024)}`), 413);
    await expectError(await post('/v1/apps/secrets/delete', 'name=x&scope[type]=account&expand[0]=payload'), 400);
    await expectError(await post('/v1/apps/secrets', 'name=x&payload=x&scope[type]=account', { ...form, 'Idempotency-Key': 'k'.repeat(256) }), 400);
  });

  test('list and find validate their query strings', async () => {
    await expectError(await get('/v1/apps/secrets?scope[type]=account&limit=0'), 400, { param: 'limit' });
    await expectError(await get('/v1/apps/secrets?scope[type]=account&limit=101'), 400, { param: 'limit' });
    await expectError(await get('/v1/apps/secrets?scope[type]=account&limit=ten'), 400, { param: 'limit' });
    await expectError(await get('/v1/apps/secrets?scope[type]=account&starting_after=appsecret_nope'), 400, { param: 'starting_after' });
    await expectError(await get('/v1/apps/secrets?scope[type]=account&starting_after=a&ending_before=b'), 400);
    await expectError(await get('/v1/apps/secrets?scope[type]=account&expand[]=payload'), 400, { param: 'expand' });
    await expectError(await get('/v1/apps/secrets/find?scope[type]=account'), 400, { code: 'parameter_missing', param: 'name' });
    const ok = await get('/v1/apps/secrets?scope[type]=account&expand[]=data.payload&limit=2');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ object: 'list', url: '/v1/apps/secrets', has_more: false, data: [] });
  });
});

describe('persistence and the stand-alone command', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'secret-store-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('secrets in the SQLite file survive a restart of the emulator', async () => {
    const file = path.join(dir, 'state.sqlite');
    const first = await startSecretStore(file);
    await first.client().apps.secrets.create({ name: 'kept', payload: 'v', scope: alice });
    await first.close();
    const second = await startSecretStore(file);
    try {
      expect((await second.client().apps.secrets.find({ name: 'kept', scope: alice, expand: ['payload'] })).payload).toBe('v');
    } finally {
      await second.close();
    }
  });

  test('`npm run secret-store -- --port 0` prints its URL, serves the SDK and stops cleanly on SIGTERM', async () => {
    const command = await startCommand('server/local/secret-store-cli.ts', ['--port', '0', '--data', path.join(dir, 'cli.sqlite')]);
    try {
      expect(command.output().trim().split('\n')).toHaveLength(1);
      const viaCli = createStripeClient('sk_test_emulator', { apiBase: command.url });
      await expect(viaCli.apps.secrets.create({ name: 'n', payload: 'p', scope: alice })).resolves.toMatchObject({ name: 'n' });
    } finally {
      expect(await command.stop()).toBe(0);
    }
  });
});
