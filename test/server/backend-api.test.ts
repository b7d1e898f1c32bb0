import { SECRET_NAMES } from '../../src/common/token-layout';
import { createStripeClient } from '../../server/stripe-client';
import { alice, KEYS, User } from '../support/fixtures';
import { brokerSuite, TestBroker } from '../support/in-process-broker';
import { seenSecrets } from '../support/leak-check';
import { call, connect, sign, withNonce, postStripeEvent } from '../support/signed-calls';
import { Stack, storedSecrets } from '../support/stack';

let stack: Stack;
let broker: TestBroker;

brokerSuite((started) => ({ stack, broker } = started));

describe('isolation between users, accounts and modes', () => {
  const owner: User = { ...alice, user_id: 'usr_owner' };
  const others: Array<[string, User]> = [
    ['another user', { ...owner, user_id: 'usr_other' }],
    ['another account', { ...owner, account_id: 'acct_other' }],
    ['another mode', { ...owner, mode: 'live' }],
  ];

  beforeAll(async () => {
    expect((await connect(stack, broker, owner)).status).toBe(200);
  });

  test.each(others)("%s, signing as itself, cannot read, refresh or delete the owner's tokens", async (_label, other) => {
    const before = await storedSecrets(stack, owner);
    expect((await call(broker, '/api/token', other)).status).toBe(404);
    expect((await call(broker, '/api/connection/status', other)).body.status).toBe('not_connected');
    expect((await call(broker, '/api/oauth/disconnect', other)).status).toBe(200);
    expect(await storedSecrets(stack, owner)).toEqual(before);
  });

  test.each(others)("a signature of %s does not verify for the owner's ids", async (_label, other) => {
    for (const path of ['/api/token', '/api/connection/status', '/api/oauth/disconnect']) {
      const params = withNonce({});
      const answer = await call(broker, path, owner, params, await sign(other, path, params));
      expect(answer.status).toBe(401);
      expect(answer.body.error!.code).toBe('invalid_signature');
    }
    expect((await storedSecrets(stack, owner)).refresh).toBeDefined();
  });

  test('the owner still gets its token', async () => {
    expect((await call(broker, '/api/token', owner)).status).toBe(200);
  });
});

describe('extension mode: registering a connection the extension stored', () => {
  test('register records the secrets the extension wrote in its own user scope', async () => {
    const user: User = { ...alice, user_id: 'usr_extension' };
    expect((await call(broker, '/api/connection', user)).status).toBe(404);
    const stripe = createStripeClient(KEYS.test, { apiBase: stack.emulatorUrl, maxNetworkRetries: 0 });
    const scope = { type: 'user' as const, user: user.user_id };
    const now = stack.now();
    const access = { v: 1, access_token: 'ext-access-token-value', token_type: 'bearer', issued_at: now, expires_at: now + 3600, generation: 1 };
    const refresh = { v: 1, refresh_token: 'ext-refresh-token-value', expires_at: null, generation: 1, refreshed_at: now, access_lifetime: 3600 };
    seenSecrets.add(access.access_token).add(refresh.refresh_token);
    await stripe.apps.secrets.create({ name: SECRET_NAMES.refresh, payload: JSON.stringify(refresh), scope }, { stripeAccount: user.account_id });
    await stripe.apps.secrets.create({ name: SECRET_NAMES.access, payload: JSON.stringify(access), scope, expires_at: access.expires_at }, { stripeAccount: user.account_id });
    const answer = await call(broker, '/api/connection', user);
    expect(answer.body).toMatchObject({ status: 'connected', access_expires_at: access.expires_at });
    expect(await broker.storage.records.get({ accountId: user.account_id, userId: user.user_id, mode: 'test' })).toMatchObject({ status: 'connected' });
    expect((await call(broker, '/api/token', user)).body.access_token).toBe(access.access_token);
  });
});

describe('bad requests get a 4xx JSON error, never a 5xx', () => {
  /** The body as given, signed for its ids and parameters (when it parses; alice's ids where it has none). */
  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const { user_id, account_id, mode, ...params } = (() => {
      try {
        return JSON.parse(body) as Record<string, unknown>;
      } catch {
        return {};
      }
    })();
    const signer = { ...alice, ...(typeof user_id === 'string' && { user_id }), ...(typeof account_id === 'string' && { account_id }), ...(typeof mode === 'string' && { mode }) } as User;
    return fetch(`${broker.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': await sign(signer, path, params), ...headers }, body });
  };

  async function expectError(res: Response, status: number, code?: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error).toEqual({ code: code ?? expect.any(String), message: expect.any(String) });
  }

  const valid = JSON.stringify(withNonce(alice));
  const { user_id: _u, account_id: _a, mode: _m, ...validParams } = JSON.parse(valid) as Record<string, unknown>;
  test.each([
    // Nothing can sign what has no ids to verify: 401, whatever else is wrong.
    ['invalid JSON', '{"user_id": ', 401, 'invalid_signature'],
    ['a JSON array', '[1, 2]', 401, 'invalid_signature'],
    ['a JSON string', '"hello"', 401, 'invalid_signature'],
    ['no user_id', JSON.stringify({ account_id: 'acct_one', mode: 'test' }), 401, 'invalid_signature'],
    ['user_id as a number', JSON.stringify({ ...alice, user_id: 42 }), 401, 'invalid_signature'],
    ['a malformed account id', JSON.stringify({ ...alice, account_id: 'one' }), 400, 'invalid_request'],
    ['an unknown mode', JSON.stringify({ ...alice, mode: 'prod' }), 400, 'invalid_request'],
    ['a huge body', JSON.stringify({ ...alice, pad: 'x'.repeat(64 * 1024) }), 413, 'body_too_large'],
  ])('%s', async (_label, body, status, code) => {
    await expectError(await post('/api/token', body), status, code);
  });

  test('signatures: missing, tampered, expired, from another secret', async () => {
    await expectError(await fetch(`${broker.url}/api/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: valid }), 401, 'invalid_signature');
    const good = await sign(alice, '/api/token', validParams);
    await expectError(await post('/api/token', valid, { 'stripe-signature': good.replace(/v1=./, (m) => (m.endsWith('0') ? 'v1=1' : 'v1=0')) }), 401, 'invalid_signature');
    await expectError(await post('/api/token', valid, { 'stripe-signature': await sign(alice, '/api/token', validParams, { timestamp: Math.floor(Date.now() / 1000) - 400 }) }), 401, 'invalid_signature');
    await expectError(await post('/api/token', valid, { 'stripe-signature': await sign(alice, '/api/token', validParams, { secret: 'absec_someone_else' }) }), 401, 'invalid_signature');
    await expectError(await post('/api/token', valid, { 'stripe-signature': 'garbage' }), 401, 'invalid_signature');
  });

  test('exchange fields: missing, wrong types, a verifier outside RFC 7636, a non-https redirect', async () => {
    const exchange = async (fields: object) => {
      return post('/api/oauth/exchange', JSON.stringify(withNonce({ ...alice, ...fields })));
    };
    const ok = { code: 'abc', verifier: 'v'.repeat(43), redirect_uri: 'https://dashboard.stripe.com/test/apps-oauth/x' };
    await expectError(await exchange({ ...ok, code: undefined }), 400, 'invalid_request');
    await expectError(await exchange({ ...ok, code: 12 }), 400, 'invalid_request');
    await expectError(await exchange({ ...ok, verifier: 'short' }), 400, 'invalid_request');
    await expectError(await exchange({ ...ok, verifier: 'v'.repeat(129) }), 400, 'invalid_request');
    await expectError(await exchange({ ...ok, redirect_uri: 'http://evil.example/cb' }), 400, 'invalid_request');
    await expectError(await exchange({ ...ok, redirect_uri: 'javascript:alert(1)' }), 400, 'invalid_request');
  });

  test('other content types, unknown routes and methods', async () => {
    await expectError(await post('/api/token', valid, { 'content-type': 'text/plain' }), 401, 'invalid_signature');
    await expectError(await post('/api/nothing', valid), 404, 'not_found');
    await expectError(await fetch(`${broker.url}/api/token`), 404, 'not_found');
    await expectError(await fetch(`${broker.url}/nowhere`), 404, 'not_found');
  });
});

test('CORS: a preflight from the sandboxed iframe (Origin: null) is allowed, and answers carry the header', async () => {
  const preflight = await fetch(`${broker.url}/api/token`, {
    method: 'OPTIONS',
    headers: { origin: 'null', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,stripe-signature' },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
  expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Stripe-Signature/i);
  expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
  expect((await call(broker, '/api/connection/status', alice)).headers.get('access-control-allow-origin')).toBe('*');
});

test('healthz answers', async () => {
  const res = await fetch(`${broker.url}/healthz`);
  expect(await res.json()).toEqual({ ok: true });
});

describe('the Stripe webhook', () => {
  const send = (event: object, secret?: string) => postStripeEvent(broker, event, secret);
  const event = (type: string, account: string) => ({ id: `evt_${type.length}${account}`, object: 'event', type, account, data: { object: {} } });

  test('account.application.deauthorized forgets that account, once or twice', async () => {
    const user: User = { user_id: 'usr_uninstall', account_id: 'acct_uninstall', mode: 'test' };
    const bystander: User = { ...user, account_id: 'acct_stays' };
    await connect(stack, broker, user);
    await connect(stack, broker, bystander);
    const key = (u: User) => ({ accountId: u.account_id, userId: u.user_id, mode: u.mode });
    expect(await broker.storage.records.get(key(user))).toBeDefined();
    for (let i = 0; i < 2; i++) {
      const res = await send(event('account.application.deauthorized', user.account_id));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: true });
    }
    expect(await broker.storage.records.get(key(user))).toBeUndefined();
    expect(await broker.storage.records.get(key(bystander))).toBeDefined();
  });

  test('other events are acknowledged and ignored; bad signatures are a 400', async () => {
    expect((await send(event('customer.created', 'acct_x'))).status).toBe(200);
    const bad = await send(event('account.application.deauthorized', 'acct_x'), 'whsec_wrong');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_webhook_signature');
    const unsigned = await fetch(`${broker.url}/webhooks/stripe`, { method: 'POST', body: '{}' });
    expect(unsigned.status).toBe(400);
  });
});
