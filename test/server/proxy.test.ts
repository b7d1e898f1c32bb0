/**
 * Using a connection: `POST /api/proxy` calls the dev provider's API as the signed connection,
 * server-side code does the same (a Stripe `customer.created` handled as the account's
 * connection), and account-wide connections are shared by an account's users — through the
 * real parts (the dev provider's bearer-protected API checks every token against its own store).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { customerNotes } from '../../server/examples/customer-notes';
import { closeServer } from '../../server/http/close-server';
import { providerStats, refreshCount } from '../support/dev-provider';
import { newUser, User } from '../support/fixtures';
import { brokerSuite, startBroker, type TestBroker } from '../support/in-process-broker';
import { seenSecrets } from '../support/leak-check';
import { call, connect, sign, withNonce, postStripeEvent } from '../support/signed-calls';
import { type Stack, storedSecrets } from '../support/stack';

let stack: Stack;
let broker: TestBroker;
brokerSuite((started) => ({ stack, broker } = started));
afterEach(() => stack.provider.control('/dev/reset', {}));

const proxy = (user: User, request: object, via: { url: string } = broker) => call(via, '/api/proxy', user, request);
const apiCalls = async (route: string) => Object.values((await providerStats(stack)).api?.[route] ?? {}).reduce((a, b) => a + b, 0);

/** The dev provider's API at the provider's own store: what a subject's notes are. */
async function notesOf(user: User) {
  const answer = await proxy(user, { method: 'GET', path: '/notes' });
  return (answer.body.body as { data: Array<{ text: string }> }).data.map((note) => note.text);
}

test('a proxied GET and POST reach the provider API as the connection and come back in the envelope, without a token', async () => {
  const user = newUser('proxy');
  await connect(stack, broker, user);
  const me = await proxy(user, { method: 'GET', path: '/me' });
  expect(me.status).toBe(200);
  expect(me.body).toMatchObject({ status: 200, headers: { 'content-type': expect.stringContaining('application/json') }, body: { sub: 'alice', name: 'Alice Example' } });
  const created = await proxy(user, { method: 'POST', path: '/notes', body: { text: 'from the drawer' }, headers: { accept: 'application/json' } });
  expect(created.body).toMatchObject({ status: 201, body: { text: 'from the drawer' } });
  expect(await notesOf(user)).toEqual(['from the drawer']);
  // Only allowlisted headers come back: never Authorization or Set-Cookie; the token is in no answer.
  for (const answer of [me, created]) {
    expect(Object.keys(answer.body.headers as object).filter((h) => /authorization|cookie/i.test(h))).toEqual([]);
    expect(JSON.stringify(answer.body)).not.toContain((await storedSecrets(stack, user)).access!.payload.access_token);
  }
});

test('a revoked grant: 409 reconnect_required after exactly one refresh attempt, and the status says so', async () => {
  const user = newUser('proxy');
  await connect(stack, broker, user);
  const { refresh } = await storedSecrets(stack, user);
  await fetch(`${stack.provider.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refresh!.payload.refresh_token, client_id: 'stripe-app-dev' }),
  });
  const [ok, refused] = [await refreshCount(stack), await refreshCount(stack, '400')];
  const answer = await proxy(user, { method: 'GET', path: '/me' });
  expect([answer.status, answer.body.error?.code]).toEqual([409, 'reconnect_required']);
  expect([await refreshCount(stack), await refreshCount(stack, '400')]).toEqual([ok, refused + 1]);
  expect((await call(broker, '/api/connection/status', user)).body).toMatchObject({ status: 'reconnect_required', reason: 'invalid_grant' });
});

test('a 401 from the API is answered with one refresh and one retry, which succeeds', async () => {
  const user = newUser('proxy');
  await connect(stack, broker, user);
  const refreshes = await refreshCount(stack);
  await stack.provider.control('/dev/api-faults', { kind: 'http401' });
  const answer = await proxy(user, { method: 'GET', path: '/me' });
  expect(answer.body).toMatchObject({ status: 200, body: { sub: 'alice' } });
  expect(await refreshCount(stack)).toBe(refreshes + 1);
  expect((await providerStats(stack)).api?.['GET /api/me']).toEqual({ 401: 1, 200: 1 });
});

test('an API that keeps answering 401 gets one refresh and one retry, and the caller gets the 401', async () => {
  const user = newUser('proxy');
  await connect(stack, broker, user);
  const refreshes = await refreshCount(stack);
  // More 401s than the proxy may use: a second retry, or a loop, would reach the API again.
  await stack.provider.control('/dev/api-faults', { kind: 'http401', count: 5 });
  const answer = await proxy(user, { method: 'GET', path: '/me' });
  expect(answer.status).toBe(200);
  expect(answer.body).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  expect(await refreshCount(stack)).toBe(refreshes + 1);
  expect((await providerStats(stack)).api?.['GET /api/me']).toEqual({ 401: 2 });
});

test('429 and 503 come back unchanged with their Retry-After, and are not retried', async () => {
  const user = newUser('proxy');
  await connect(stack, broker, user);
  for (const kind of ['http429', 'http503']) {
    const before = await apiCalls('GET /api/me');
    await stack.provider.control('/dev/api-faults', { kind, retryAfter: 7 });
    const answer = await proxy(user, { method: 'GET', path: '/me' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: kind === 'http429' ? 429 : 503, headers: { 'retry-after': '7' } });
    expect(await apiCalls('GET /api/me')).toBe(before + 1);
  }
});

test.each([
  ['a parent segment', '/notes/../me'],
  ['an encoded parent', '/notes/%2e%2e/me'],
  ['an encoded slash', '/notes%2fme'],
  ['a backslash', '/notes\\..\\me'],
  ['two slashes (another host)', '//attacker.example/x'],
  ['credentials', '/@attacker.example/x'],
  ['an absolute URL', 'https://attacker.example/me'],
  ['no leading slash', 'me'],
  ['a control character', '/me\r\nHost: attacker.example'],
  ['a query', '/me?x=1'],
  // Passes the path checks; the URL parser trims the spaces, then climbs out of the base (/api).
  ['a parent segment before trailing spaces', '/..  '],
])('%s in the path is refused with 400 and nothing is sent', async (_label, path) => {
  const user = newUser('proxy');
  await connect(stack, broker, user);
  const before = (await providerStats(stack)).api ?? {};
  const answer = await proxy(user, { method: 'GET', path });
  expect([answer.status, answer.body.error?.code]).toEqual([400, 'invalid_request']);
  expect((await providerStats(stack)).api ?? {}).toEqual(before);
});

test('methods, headers and bodies outside the contract are refused; the body limit is a 413', async () => {
  const user = newUser('proxy');
  await connect(stack, broker, user);
  for (const request of [{ method: 'TRACE', path: '/me' }, { method: 'GET', path: '/me', headers: { cookie: 'a=b' } }, { method: 'GET', path: '/me', body: {} }, { method: 'GET', path: '/me', query: { a: 1 } }]) {
    expect((await proxy(user, request)).status).toBe(400);
  }
  const small = await startBroker(stack, { maxProxyRequestBytes: 1024 });
  try {
    await connect(stack, small, user);
    const answer = await proxy(user, { method: 'POST', path: '/notes', body: { text: 'x'.repeat(2000) } }, small);
    expect([answer.status, answer.body.error?.code]).toEqual([413, 'body_too_large']);
  } finally {
    await small.stop();
  }
});

test('a signature for one proxied request does not authorize another', async () => {
  const user = newUser('proxy');
  await connect(stack, broker, user);
  const params = withNonce({ method: 'GET', path: '/me' });
  const signature = await sign(user, '/api/proxy', params);
  const other = await call(broker, '/api/proxy', user, { ...params, method: 'DELETE', path: '/notes/1' }, signature);
  expect(other.status).toBe(401);
  expect((await call(broker, '/api/proxy', user, params, signature)).status).toBe(200);
});

describe('answers the broker cannot pass on', () => {
  let elsewhere: http.Server;
  let stolen = 0;
  let limited: TestBroker;
  beforeAll(async () => {
    // A second API base that redirects, and a server the redirect points to that must never be reached.
    const thief = http.createServer((_req, res) => void (stolen++, res.end()));
    await new Promise<void>((resolve) => thief.listen(0, '127.0.0.1', resolve));
    const thiefUrl = `http://127.0.0.1:${(thief.address() as AddressInfo).port}`;
    elsewhere = http.createServer((req, res) => {
      if (req.url?.startsWith('/v2/redirect')) return void res.writeHead(302, { location: `${thiefUrl}/steal` }).end();
      if (req.url?.startsWith('/v2/cookie')) return void res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'session=1', 'www-authenticate': 'Basic' }).end('ok');
      res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'session=1' }).end('x'.repeat(4000));
    });
    elsewhere.on('close', () => thief.close());
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const second = new URL(`http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/v2`);
    limited = await startBroker(stack, { api: { bases: [new URL(`${stack.provider.issuer}/api`), second], maxResponseBytes: 1000, timeoutMs: 500 } });
  });
  afterAll(async () => {
    await limited.stop();
    await closeServer(elsewhere);
  });

  test('a redirect comes back as it is and is not followed; larger answers are 502 upstream_too_large; slow ones 504', async () => {
    const user = newUser('proxy');
    await connect(stack, limited, user);
    const base = `${new URL(`http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/v2`)}`;
    const redirected = await proxy(user, { method: 'GET', path: '/redirect', base }, limited);
    expect(redirected.body).toMatchObject({ status: 302, headers: { location: expect.stringContaining('/steal') } });
    expect(stolen).toBe(0);
    const cookie = await proxy(user, { method: 'GET', path: '/cookie', base }, limited);
    expect(cookie.body).toEqual({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' });
    const large = await proxy(user, { method: 'GET', path: '/large', base }, limited);
    expect([large.status, large.body.error?.code]).toEqual([502, 'upstream_too_large']);
    await stack.provider.control('/dev/api-faults', { kind: 'slow', delayMs: 1500 });
    const slow = await proxy(user, { method: 'GET', path: '/me' }, limited);
    expect([slow.status, slow.body.error?.code]).toEqual([504, 'upstream_timeout']);
    const unknownBase = await proxy(user, { method: 'GET', path: '/me', base: 'https://attacker.example/api' }, limited);
    expect(unknownBase.status).toBe(400);
  });
});

test("server-side access: a Stripe customer.created is noted at the provider as the account's connection", async () => {
  const withExample = await startBroker(stack, { stripeEventHandlers: customerNotes });
  try {
    const user = newUser('proxy', { account_id: 'acct_customers' });
    await connect(stack, withExample, user);
    const res = await postStripeEvent(withExample, {
      id: 'evt_customer1', object: 'event', type: 'customer.created', account: user.account_id, livemode: false,
      data: { object: { id: 'cus_Example1', object: 'customer', name: 'Jenny Rosen' } },
    });
    expect(res.status).toBe(200);
    expect(await notesOf(user)).toContain('New Stripe customer cus_Example1 (Jenny Rosen)');
  } finally {
    await withExample.stop();
  }
});

describe('account-wide connections (CONNECTION_SCOPE=account)', () => {
  let shared: TestBroker;
  beforeAll(async () => (shared = await startBroker(stack, { connectionScope: 'account' })));
  afterAll(() => shared.stop());

  test("two users of one account share the connection; another account's users see nothing", async () => {
    const account = 'acct_shared';
    const [ana, ben] = [newUser('proxy', { account_id: account }), newUser('proxy', { account_id: account })];
    const outsider = newUser('proxy', { account_id: 'acct_elsewhere' });
    expect((await connect(stack, shared, ana)).status).toBe(200);
    // In the account's scope: no user-scoped secrets for anyone.
    expect(await storedSecrets(stack, ana)).toEqual({ access: undefined, refresh: undefined });
    const token = await call(shared, '/api/token', ben);
    expect(token.status).toBe(200);
    expect((await proxy(ben, { method: 'GET', path: '/me' }, shared)).body).toMatchObject({ status: 200, body: { sub: 'alice' } });
    expect((await call(shared, '/api/token', outsider)).status).toBe(404);
    // Any user of the account can disconnect it, for everyone.
    expect((await call(shared, '/api/oauth/disconnect', ben)).status).toBe(200);
    expect((await call(shared, '/api/connection/status', ana)).body.status).toBe('not_connected');
    seenSecrets.add(token.body.access_token as string);
  });
});
