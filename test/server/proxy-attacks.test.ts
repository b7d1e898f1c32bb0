/**
 * Attacks on `POST /api/proxy` (issue #25), each replayed against an in-process backend and the
 * dev provider's API: a path that keeps answering 401 (one refresh per cooldown, not one per
 * call), answers that stall or break off after their headers (504 / 502 and a warning, never a
 * 500), CR or LF in a header value (400, nothing sent), paths some server would read otherwise
 * than they are written (400, nothing sent), and answer headers that echo the token (only headers
 * named exactly come back, and none holding the token).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { REFRESH_COOLDOWN_SECONDS } from '../../server/broker/provider-api';
import { closeServer } from '../../server/http/close-server';
import { providerStats, refreshCount, untilAtProvider } from '../support/dev-provider';
import { eventually, newUser, type User } from '../support/fixtures';
import { startBroker, type TestBroker } from '../support/in-process-broker';
import { logLines } from '../support/leak-check';
import { call, connect } from '../support/signed-calls';
import { type Stack, stackSuite, storedSecrets } from '../support/stack';

let stack: Stack;
let broker: TestBroker;
// Ten-minute access tokens (due after five): moving the broker's clock past a cooldown or two leaves them far from due.
stackSuite(['--access-ttl', '600'], (started) => (stack = started));
beforeAll(async () => (broker = await startBroker(stack)));
afterAll(() => broker.stop());
afterEach(async () => {
  await stack.provider.control('/dev/reset', {});
  stack.clock.offset = 0;
});

const ME = { method: 'GET', path: '/me' };
const proxy = (user: User, request: object, via: { url: string } = broker) => call(via, '/api/proxy', user, request);
/** The broker's clock past the 401 cooldown of the tokens issued so far (the provider's keeps real time). */
const pastCooldown = () => (stack.clock.offset += REFRESH_COOLDOWN_SECONDS);
/** Refresh requests the broker sent to the provider, answered or not. */
const refreshesSent = async () => (await broker.metrics.provider.get()).values.filter((v) => v.labels.grant === 'refresh_token').reduce((sum, v) => sum + v.value, 0);
const apiAnswers = async () => (await providerStats(stack)).api;

async function connected(via: TestBroker = broker): Promise<User> {
  const user = newUser('attack');
  await connect(stack, via, user);
  // Its access token joins the leak check.
  await storedSecrets(stack, user);
  return user;
}

describe('a path that keeps answering 401', () => {
  test('thirty calls make one refresh in the cooldown, and each caller gets the 401 as the API sent it', async () => {
    const user = await connected();
    pastCooldown();
    const refreshes = await refreshCount(stack);
    await stack.provider.control('/dev/api-faults', { kind: 'http401', count: 100 });
    for (let i = 0; i < 30; i++) {
      const answer = await proxy(user, ME);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        status: 401,
        // What the allowlist lets through of the API's headers (not its WWW-Authenticate).
        headers: { 'content-type': expect.stringContaining('application/json'), etag: expect.any(String) },
        body: { error: 'invalid_token', error_description: expect.any(String) },
      });
    }
    // One refresh (one provider call, one rotation); each call reached the API once, the first twice.
    expect(await refreshCount(stack)).toBe(refreshes + 1);
    expect((await apiAnswers())['GET /api/me']).toEqual({ 401: 31 });
    // Past the cooldown (the refreshed token as old as it), a 401 may refresh again: once.
    pastCooldown();
    expect((await proxy(user, ME)).body.status).toBe(401);
    expect(await refreshCount(stack)).toBe(refreshes + 2);
  });

  test('the cooldown never hides a grant revoked just after a refresh: the 401 still refreshes, and finds it gone', async () => {
    const user = await connected();
    await broker.engine.refreshNow({ userId: user.user_id, accountId: user.account_id, mode: user.mode });
    const { refresh } = await storedSecrets(stack, user);
    await fetch(`${stack.provider.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refresh!.payload.refresh_token, client_id: 'stripe-app-dev' }),
    });
    const answer = await proxy(user, ME);
    expect([answer.status, answer.body.error?.code]).toEqual([409, 'reconnect_required']);
  });

  test('a refresh a 401 caused that failed is not tried again within the cooldown; after it, it is', async () => {
    const user = await connected();
    pastCooldown();
    await stack.provider.control('/dev/api-faults', { kind: 'http401', count: 100 });
    // Every attempt of the refresh answered 503.
    await stack.provider.control('/dev/faults', { kind: 'http503', count: 3 });
    const sent = await refreshesSent();
    const failed = await proxy(user, ME);
    expect([failed.status, failed.body.error?.code]).toEqual([503, 'provider_unavailable']);
    expect(await refreshesSent()).toBe(sent + 3);
    for (let i = 0; i < 5; i++) expect((await proxy(user, ME)).body).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(await refreshesSent()).toBe(sent + 3);
    pastCooldown();
    await stack.provider.control('/dev/reset', {});
    await stack.provider.control('/dev/api-faults', { kind: 'http401' });
    expect((await proxy(user, ME)).body).toMatchObject({ status: 200, body: { sub: 'alice' } });
    expect(await refreshCount(stack)).toBe(1);
  });

  test('401s that come while the refresh a 401 caused is under way wait for it and retry with its token', async () => {
    // A provider timeout longer than the refresh is held.
    const patient = await startBroker(stack, { provider: { timeoutSeconds: 20 } });
    try {
      const user = newUser('attack');
      await connect(stack, patient, user);
      pastCooldown();
      const refreshes = await refreshCount(stack);
      await stack.provider.control('/dev/api-faults', { kind: 'http401', count: 3 });
      // The refresh is held at the provider while the other two calls meet their 401s, then let go.
      await stack.provider.control('/dev/faults', { kind: 'held', delayMs: 15_000 });
      const first = proxy(user, ME, patient);
      await untilAtProvider(stack);
      const others = [proxy(user, ME, patient), proxy(user, ME, patient)];
      expect(await eventually(async () => (await apiAnswers())['GET /api/me']?.[401] === 3, 10_000)).toBe(true);
      expect((await providerStats(stack)).tokenInFlight).toBe(1);
      await stack.provider.control('/dev/release', {});
      const answers = await Promise.all([first, ...others]);
      expect(answers.map((answer) => answer.body)).toEqual(Array(3).fill(expect.objectContaining({ status: 200, body: expect.objectContaining({ sub: 'alice' }) })));
      expect(await refreshCount(stack)).toBe(refreshes + 1);
    } finally {
      await patient.stop();
    }
  });
});

describe('answers that break off after their headers', () => {
  // A backend that waits a second for the API (not three): a stalled answer ends sooner.
  let brisk: TestBroker;
  beforeAll(async () => (brisk = await startBroker(stack, { api: { bases: [new URL(`${stack.provider.issuer}/api`)], timeoutMs: 1000 } })));
  afterAll(() => brisk.stop());

  test.each([
    ['stalls', 'stall_after_headers', 504, 'upstream_timeout'],
    ['is cut', 'reset_after_headers', 502, 'upstream_unreachable'],
  ])('an answer that %s after its headers (%s) is %i %s with a warning, not a 500', async (_label, kind, status, code) => {
    const user = await connected(brisk);
    const logged = logLines.length;
    await stack.provider.control('/dev/api-faults', { kind });
    const answer = await proxy(user, ME, brisk);
    expect([answer.status, answer.body.error?.code]).toEqual([status, code]);
    // A warning (pino's level 40) for the call; a 500 would have logged an error (50).
    const lines = logLines.slice(logged).map((line) => JSON.parse(line) as { level: number; msg: string; outcome?: string });
    expect(lines.filter((line) => line.msg === 'proxy').map((line) => [line.level, line.outcome])).toEqual([[40, code]]);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    // The API is fine again: the connection is untouched.
    expect((await proxy(user, ME, brisk)).body).toMatchObject({ status: 200, body: { sub: 'alice' } });
  });
});

test.each([
  ['CR LF', 'application/json\r\nX-Injected: 1'],
  ['a bare LF', 'application/json\nX-Injected: 1'],
  ['NUL', 'application/json\u0000'],
  ['a character beyond Latin-1', 'application/json\u3002'],
])('a header value with %s is refused with 400 and nothing is sent', async (_label, value) => {
  const user = await connected();
  const before = await apiAnswers();
  const answer = await proxy(user, { ...ME, headers: { accept: value } });
  expect([answer.status, answer.body.error?.code]).toEqual([400, 'invalid_request']);
  expect(answer.body.error?.message).toContain('accept');
  expect(await apiAnswers()).toEqual(before);
});

describe('paths and answer headers, at the dev API and at a server that records what reaches it', () => {
  let recorder: http.Server;
  let received: string[] = [];
  let twoBases: TestBroker;
  let recorded: string;
  beforeAll(async () => {
    // Answers with the headers a rate-limited API sends, and with lookalikes (one echoing the token).
    recorder = http.createServer((req, res) => {
      received.push(req.url!);
      res.writeHead(200, {
        'content-type': 'text/plain',
        'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '9', 'x-ratelimit-reset': '60', 'retry-after': '1', 'ratelimit-policy': '10;w=60',
        'x-ratelimit-authorization': req.headers.authorization, 'x-ratelimit-limit-by-token': '1', 'ratelimit-debug': 'x', 'x-request-id': `id ${req.headers.authorization}`,
      }).end('ok');
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    recorded = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}/v2/`;
    twoBases = await startBroker(stack, { api: { bases: [new URL(`${stack.provider.issuer}/api`), new URL(recorded)], timeoutMs: 3000 } });
  });
  afterAll(async () => {
    await twoBases.stop();
    await closeServer(recorder);
  });
  beforeEach(() => void (received = []));

  test.each([
    ['an empty segment', '/notes//me'],
    ['an empty first segment', '//notes'],
    ['a ; parameter', '/notes;x=1'],
    ['a ..; segment (Tomcat, Jetty)', '/..;/me'],
    ['a ..; segment further in', '/notes/..;/me'],
    ['an escaped ;', '/notes/%3b/me'],
    ['a double-encoded parent', '/notes/%252e%252e/me'],
    ['a double-encoded slash', '/notes%252fme'],
    ['an encoded parent', '/notes/%2e%2e/me'],
    ['a mixed-encoded parent', '/notes/.%2E/me'],
    ['an overlong UTF-8 dot', '/notes/%c0%ae%c0%ae/me'],
    ['an overlong UTF-8 slash', '/notes%c0%afme'],
    ['full-width dots', '/notes/％２ｅ/me'],
    ['full-width dots, raw', '/notes/．．/me'],
    ['full-width dots, escaped', '/notes/%EF%BC%8E%EF%BC%8E/me'],
    ['ideographic full stops, raw', '/notes/。。/me'],
    ['ideographic full stops, escaped', '/notes/%E3%80%82%E3%80%82/me'],
    ['a two-dot leader', '/notes/%E2%80%A5/me'],
    ['a full-width slash', '/notes%EF%BC%8Fme'],
    ['a backslash', '/notes\\me'],
    ['an escaped backslash', '/notes%5c..%5cme'],
    ['a full-width backslash, raw', '/notes＼..＼me'],
    ['a full-width backslash, escaped', '/notes%EF%BC%BC..%EF%BC%BCme'],
    ['a parent with trailing spaces (IIS)', '/notes/..%20%20/me'],
    ['a space', '/notes/a b'],
    ['an IIS %u escape', '/notes/%u002e%u002e/me'],
    ['a bare %', '/notes/100%'],
  ])('%s in the path is refused with 400 and a clear error, and nothing is sent', async (_label, path) => {
    const user = newUser('attack');
    await connect(stack, twoBases, user);
    const before = await apiAnswers();
    for (const base of [undefined, recorded]) {
      const answer = await proxy(user, { method: 'GET', path, base }, twoBases);
      expect([answer.status, answer.body.error?.code]).toEqual([400, 'invalid_request']);
      expect(answer.body.error?.message).toMatch(/^path must /);
    }
    expect(received).toEqual([]);
    expect(await apiAnswers()).toEqual(before);
  });

  test('plain paths still reach the API exactly as written', async () => {
    const user = newUser('attack');
    await connect(stack, twoBases, user);
    const paths = ['/me', '/notes/', '/notes/a.b', "/notes/it's~(1)", '/notes/%E2%9C%93', '/notes/a%40b', '/.well-known/x', '/'];
    for (const path of paths) expect((await proxy(user, { method: 'GET', path, base: recorded }, twoBases)).body.status).toBe(200);
    expect(received).toEqual(paths.map((path) => `/v2${path}`));
    expect((await proxy(user, { method: 'GET', path: '/notes/' }, twoBases)).body).toMatchObject({ status: 200, body: { data: [] } });
  });

  test('only headers named exactly come back, and none that holds the access token', async () => {
    const user = newUser('attack');
    await connect(stack, twoBases, user);
    const token = (await storedSecrets(stack, user)).access!.payload.access_token as string;
    const answer = await proxy(user, { method: 'GET', path: '/limits', base: recorded }, twoBases);
    expect(answer.body.headers).toEqual({
      'content-type': 'text/plain', 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '9', 'x-ratelimit-reset': '60', 'retry-after': '1', 'ratelimit-policy': '10;w=60',
    });
    // The dev provider's API echoing Authorization, as a careless one might.
    await stack.provider.control('/dev/api-faults', { kind: 'echo_authorization' });
    const echoed = await proxy(user, ME, twoBases);
    expect(echoed.body).toMatchObject({ status: 200, body: { sub: 'alice' } });
    expect(Object.keys(echoed.body.headers as object).sort()).toEqual(['content-type', 'etag']);
    expect(JSON.stringify([answer.body, echoed.body])).not.toContain(token);
  });
});
