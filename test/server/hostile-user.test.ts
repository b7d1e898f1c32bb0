/**
 * What a Dashboard user who turns against the app can try, through the real parts (the SDK
 * over HTTP to the emulator, openid-client against the dev provider), and the signature
 * contract as Stripe documents it, signed by the Dashboard double — not by the backend's code.
 */
import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import { APP_ID } from '../../src/common/app-id';
import { dashboardRedirectUri } from '../../src/common/redirect-uri';
import { signatureClaims } from '../../src/common/signed-request';
import { SECRET_NAMES } from '../../src/common/token-layout';
import { stripeSignature } from '../../server/local/dashboard/host-calls';
import { CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET } from '../../server/local/oauth-provider/clients';
import { createStripeClient } from '../../server/stripe-client';
import { TokenSealer } from '../../server/broker/token-sealing';
import { eventually, KEYS, newUser, ROTATED_SEALING_KEY, SEALING_KEY, SIGNING_SECRET, sleep, User } from '../support/fixtures';
import { brokerSuite, startBroker, TestBroker } from '../support/in-process-broker';
import { logLines, seenSecrets } from '../support/leak-check';
import { authorize, call, connect, sign, withNonce, postStripeEvent } from '../support/signed-calls';
import { Stack, storedSecrets } from '../support/stack';
import { discover, providerStats, refreshCount } from '../support/dev-provider';
import * as client from 'openid-client';

let stack: Stack;
let broker: TestBroker;

brokerSuite((started) => ({ stack, broker } = started));

/** A raw signed POST: the body as given, the signature as given. */
const post = (path: string, body: object, signature: string) =>
  fetch(`${broker.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: JSON.stringify(body) });

/** Writes a secret into a user's own scope, as the extension (and so the user) can. */
async function writeOwnSecret(user: User, name: string, payload: string, expiresAt?: number) {
  const stripe = createStripeClient(KEYS[user.mode], { apiBase: stack.emulatorUrl, maxNetworkRetries: 0 });
  await stripe.apps.secrets.create(
    { name, payload, scope: { type: 'user', user: user.user_id }, ...(expiresAt && { expires_at: expiresAt }) },
    { stripeAccount: user.account_id },
  );
}

describe('request signatures as Stripe documents them', () => {
  const ids = (u: User) => ({ userId: u.user_id, accountId: u.account_id });

  test('params_sha256 is the hex SHA-256 of the parameters as JSON with sorted keys', async () => {
    const claims = await signatureClaims('test', '/api/oauth/exchange', { verifier: 'v', code: 'c', redirect_uri: 'r' });
    expect(claims).toEqual({
      mode: 'test',
      action: '/api/oauth/exchange',
      params_sha256: createHash('sha256').update('{"code":"c","redirect_uri":"r","verifier":"v"}').digest('hex'),
    });
    expect((await signatureClaims('live', '/api/token', {})).params_sha256).toBe(createHash('sha256').update('{}').digest('hex'));
  });

  test.each(['claims_first', 'ids_first'] as const)('the %s order verifies', async (order) => {
    const user = newUser('hostile');
    const params = withNonce({});
    const claims = await signatureClaims(user.mode, '/api/connection/status', params);
    const res = await post('/api/connection/status', { ...user, ...params }, stripeSignature(SIGNING_SECRET, ids(user), { ...claims }, { order }));
    expect(res.status).toBe(200);
  });

  test('any other order of the same fields does not verify', async () => {
    const user = newUser('hostile');
    const params = withNonce({});
    const claims = await signatureClaims(user.mode, '/api/connection/status', params);
    const { user_id, account_id } = user;
    const payloads = [
      { user_id, ...claims, account_id },
      { account_id, user_id, ...claims },
      { ...claims, account_id, user_id },
      { user_id, account_id, mode: claims.mode },
    ];
    for (const payload of payloads) {
      const t = Math.floor(Date.now() / 1000);
      const header = Stripe.webhooks.generateTestHeaderString({ payload: JSON.stringify(payload), secret: SIGNING_SECRET, timestamp: t });
      expect((await post('/api/connection/status', { ...user, ...params }, header)).status).toBe(401);
    }
  });

  test('a signature captured from one route does not work on another', async () => {
    const user = newUser('hostile');
    const params = withNonce({});
    const captured = await sign(user, '/api/connection/status', params);
    for (const path of ['/api/token', '/api/oauth/disconnect', '/api/connection']) {
      expect((await post(path, { ...user, ...params }, captured)).status).toBe(401);
    }
    const exchange = { code: 'someone-elses-code', verifier: 'v'.repeat(43), redirect_uri: dashboardRedirectUri(APP_ID, 'test') };
    expect((await post('/api/oauth/exchange', { ...user, ...params, ...exchange }, captured)).status).toBe(401);
    expect((await post('/api/connection/status', { ...user, ...params }, captured)).status).toBe(200);
  });

  test('a signature for one set of parameters does not work with others', async () => {
    const user = newUser('hostile');
    const signed = withNonce({ code: 'code-one', verifier: 'v'.repeat(43), redirect_uri: dashboardRedirectUri(APP_ID, 'test') });
    const signature = await sign(user, '/api/oauth/exchange', signed);
    const res = await post('/api/oauth/exchange', { ...user, ...signed, code: 'code-two' }, signature);
    expect(res.status).toBe(401);
    // The signed parameters pass the signature (and then fail at the provider: the code is made up).
    const honest = await post('/api/oauth/exchange', { ...user, ...signed }, signature);
    expect(((await honest.json()) as { error: { code: string } }).error.code).toBe('invalid_code');
  });

  test('a timestamp more than 60 s ahead is refused; a little skew is fine', async () => {
    const user = newUser('hostile');
    const now = Math.floor(Date.now() / 1000);
    const at = async (timestamp: number) => {
      const params = withNonce({});
      return (await post('/api/connection/status', { ...user, ...params }, await sign(user, '/api/connection/status', params, { timestamp }))).status;
    };
    expect(await at(now + 120)).toBe(401);
    expect(await at(now + 20)).toBe(200);
  });

  test('a header with two timestamps, or one of 14 digits, is refused: the future check reads the one stripe-node verifies', async () => {
    const user = newUser('hostile');
    const params = withNonce({});
    const now = Math.floor(Date.now() / 1000);
    const farFuture = await sign(user, '/api/connection/status', params, { timestamp: now * 10_000 });
    const inAnHour = await sign(user, '/api/connection/status', params, { timestamp: now + 3600 });
    for (const header of [farFuture, `t=${now},${inAnHour}`]) {
      expect((await post('/api/connection/status', { ...user, ...params }, header)).status).toBe(401);
    }
    expect((await post('/api/connection/status', { ...user, ...params }, await sign(user, '/api/connection/status', params))).status).toBe(200);
  });

  test('the backend logs which order the first verified request used, once', async () => {
    // Its own verified requests, claims_first first, so it does not rely on the tests before it.
    for (const order of ['claims_first', 'ids_first'] as const) {
      const user = newUser('hostile');
      const params = withNonce({});
      const claims = await signatureClaims(user.mode, '/api/connection/status', params);
      expect((await post('/api/connection/status', { ...user, ...params }, stripeSignature(SIGNING_SECRET, ids(user), { ...claims }, { order }))).status).toBe(200);
    }
    const lines = logLines.filter((line) => line.includes('signed requests verify with'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).order).toBe('claims_first');
  });

  test('STRIPE_SIGNATURE_ORDER pins the order a real install logged: the other one is refused', async () => {
    const pinned = await startBroker(stack, { signatureOrder: 'ids_first' });
    try {
      const user = newUser('hostile');
      const byOrder = async (order: 'claims_first' | 'ids_first') => {
        const params = withNonce({});
        const claims = await signatureClaims(user.mode, '/api/connection/status', params);
        return (await fetch(`${pinned.url}/api/connection/status`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature(SIGNING_SECRET, ids(user), { ...claims }, { order }) },
          body: JSON.stringify({ ...user, ...params }),
        })).status;
      };
      expect(await byOrder('ids_first')).toBe(200);
      expect(await byOrder('claims_first')).toBe(401);
    } finally {
      await pinned.stop();
    }
  });
});

describe('a refresh token the backend did not write is never redeemed', () => {
  test('the refresh secret is sealed: no refresh token in the stored payload', async () => {
    const user = newUser('hostile');
    await connect(stack, broker, user);
    const { refresh } = await storedSecrets(stack, user);
    expect(refresh!.sealed).toBe(true);
    expect(refresh!.raw).not.toContain(refresh!.payload.refresh_token);
  });

  describe('with a confidential client', () => {
    let confidential: TestBroker;
    beforeAll(async () => {
      confidential = await startBroker(stack, { provider: { clientId: CONFIDENTIAL_CLIENT_ID, clientSecret: CONFIDENTIAL_CLIENT_SECRET } });
    });
    afterAll(() => confidential.stop());

    async function victimRefreshToken(): Promise<string> {
      const victim = newUser('hostile');
      expect((await connect(stack, confidential, victim, { clientId: CONFIDENTIAL_CLIENT_ID })).status).toBe(200);
      return (await storedSecrets(stack, victim)).refresh!.payload.refresh_token as string;
    }

    test('a stolen refresh token written unsealed into the thief\'s own scope is not sent to the provider', async () => {
      const stolen = await victimRefreshToken();
      const thief = newUser('hostile');
      const now = stack.now();
      await writeOwnSecret(thief, SECRET_NAMES.refresh, JSON.stringify({ v: 1, refresh_token: stolen, expires_at: null, generation: 1, refreshed_at: now, access_lifetime: 60 }));
      const refreshes = await refreshCount(stack);
      const answer = await call(confidential, '/api/token', thief);
      expect(answer.status).toBe(409);
      expect(answer.body.error!.code).toBe('reconnect_required');
      expect(await refreshCount(stack)).toBe(refreshes);
      // And it still works for its owner's client: nothing redeemed it.
      const config = await discover(stack.provider.issuer, CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET);
      const fresh = await client.refreshTokenGrant(config, stolen);
      seenSecrets.add(fresh.access_token);
      if (fresh.refresh_token) seenSecrets.add(fresh.refresh_token);
    });

    test("another user's sealed refresh secret copied into the thief's scope does not open there", async () => {
      const victim = newUser('hostile');
      await connect(stack, confidential, victim, { clientId: CONFIDENTIAL_CLIENT_ID });
      const thief = newUser('hostile');
      await writeOwnSecret(thief, SECRET_NAMES.refresh, (await storedSecrets(stack, victim)).refresh!.raw);
      const refreshes = await refreshCount(stack);
      expect((await call(confidential, '/api/token', thief)).body.error!.code).toBe('reconnect_required');
      expect((await call(confidential, '/api/connection/status', thief)).body.status).toBe('reconnect_required');
      expect(await refreshCount(stack)).toBe(refreshes);
    });

    test('a sealed payload whose tag was cut to 4 bytes (which GCM would otherwise accept) is refused, never redeemed', async () => {
      const user = newUser('hostile');
      await connect(stack, confidential, user, { clientId: CONFIDENTIAL_CLIENT_ID });
      const { raw } = (await storedSecrets(stack, user)).refresh!;
      const parts = raw.split('.');
      parts[parts.length - 1] = Buffer.from(parts[parts.length - 1], 'base64url').subarray(0, 4).toString('base64url');
      await writeOwnSecret(user, SECRET_NAMES.refresh, parts.join('.'));
      stack.clock.offset += 61;
      try {
        const refreshes = await refreshCount(stack);
        expect((await call(confidential, '/api/token', user)).body.error?.code).toBe('reconnect_required');
        expect(await refreshCount(stack)).toBe(refreshes);
      } finally {
        stack.clock.offset = 0;
      }
    });

    test('extension exchange mode is refused: /api/connection answers 403', async () => {
      const answer = await call(confidential, '/api/connection', newUser('hostile'));
      expect(answer.status).toBe(403);
      expect(answer.body.error!.code).toBe('extension_exchange_disabled');
    });
  });

  test('sealing keys rotate: a new first key seals, the old one still opens; without it the old payload waits (503), never redeemed', async () => {
    const user = newUser('hostile');
    await connect(stack, broker, user);
    stack.clock.offset += 61;
    const newKey = ROTATED_SEALING_KEY;
    const rotated = await startBroker(stack, { sealer: new TokenSealer([newKey, SEALING_KEY]) });
    try {
      expect((await call(rotated, '/api/token', user)).status).toBe(200);
      expect((await storedSecrets(stack, user)).refresh!.raw).toMatch(/^sealed\.v1\.suite2\./);
    } finally {
      await rotated.stop();
    }
    const other = newUser('hostile');
    await connect(stack, broker, other);
    stack.clock.offset += 61;
    const onlyNew = await startBroker(stack, { sealer: new TokenSealer([newKey]) });
    try {
      const refreshes = await refreshCount(stack);
      expect((await call(onlyNew, '/api/token', other)).body.error!.code).toBe('sealing_key_missing');
      expect(await refreshCount(stack)).toBe(refreshes);
    } finally {
      await onlyNew.stop();
      stack.clock.offset = 0;
    }
  });
});

describe('redirect URIs', () => {
  let strict: TestBroker;
  beforeAll(async () => {
    strict = await startBroker(stack, { allowLoopbackRedirects: false });
  });
  afterAll(() => strict.stop());

  const exchange = (user: User, redirect_uri: string) => call(strict, '/api/oauth/exchange', user, { code: 'made-up-code', verifier: 'v'.repeat(43), redirect_uri });

  test("only the Dashboard's return URL for this app and mode passes", async () => {
    const user = newUser('hostile');
    for (const uri of ['http://127.0.0.1/oauth/callback', 'https://evil.example/apps-oauth/x', dashboardRedirectUri(APP_ID, 'live'), dashboardRedirectUri('com.other.app', 'test')]) {
      const answer = await exchange(user, uri);
      expect({ uri, status: answer.status, code: answer.body.error!.code }).toEqual({ uri, status: 400, code: 'invalid_request' });
    }
    // The right one reaches the provider, which rejects the made-up code.
    expect((await exchange(user, dashboardRedirectUri(APP_ID, 'test'))).body.error!.code).toBe('invalid_code');
  });
});

test('a new exchange over an existing connection revokes the previous grant', async () => {
  const user = newUser('hostile');
  await connect(stack, broker, user);
  const first = (await storedSecrets(stack, user)).refresh!.payload.refresh_token as string;
  const revocations = (await providerStats(stack)).revocations;
  await connect(stack, broker, user);
  expect((await providerStats(stack)).revocations).toBe(revocations + 1);
  const config = await discover(stack.provider.issuer, 'stripe-app-dev');
  await expect(client.refreshTokenGrant(config, first)).rejects.toMatchObject({ error: 'invalid_grant' });
  expect((await call(broker, '/api/connection/status', user)).body.status).toBe('connected');
});

test('code exchanges are rate-limited per connection, with Retry-After', async () => {
  const limited = await startBroker(stack, { limits: { exchange: { perConnection: 3, perAccount: 100, windowMs: 60_000 } } });
  try {
    const user = newUser('hostile');
    const attempt = (u: User) => call(limited, '/api/oauth/exchange', u, { code: 'made-up-code', verifier: 'v'.repeat(43), redirect_uri: dashboardRedirectUri(APP_ID, 'test') });
    for (let i = 0; i < 3; i++) expect((await attempt(user)).status).toBe(400);
    const refused = await attempt(user);
    expect(refused.status).toBe(429);
    expect(refused.body.error!.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await attempt(newUser('hostile'))).status).toBe(400);
  } finally {
    await limited.stop();
  }
});

test('answers of the API carry Cache-Control: no-store', async () => {
  const user = newUser('hostile');
  await connect(stack, broker, user);
  for (const path of ['/api/token', '/api/connection/status']) {
    expect((await call(broker, path, user)).headers.get('cache-control')).toBe('no-store');
  }
});

describe('account.application.deauthorized', () => {
  let events = 0;
  const deauthorized = (account: string, livemode: boolean, id = `evt_deauth${++events}`) =>
    postStripeEvent(broker, { id, object: 'event', type: 'account.application.deauthorized', account, livemode, data: { object: {} } });

  test("acts in the event's mode only: revokes each grant there and deletes its secrets; once per event id", async () => {
    const account = 'acct_uninstalls';
    const testUser = newUser('hostile', { account_id: account });
    const liveUser = { ...testUser, mode: 'live' as const };
    await connect(stack, broker, testUser);
    await connect(stack, broker, liveUser);
    const revocations = (await providerStats(stack)).revocations;

    expect((await deauthorized(account, false, 'evt_once')).status).toBe(200);
    expect(await storedSecrets(stack, testUser)).toEqual({ access: undefined, refresh: undefined });
    expect((await providerStats(stack)).revocations).toBe(revocations + 1);
    expect((await storedSecrets(stack, liveUser)).refresh).toBeDefined();
    expect((await call(broker, '/api/connection/status', liveUser)).body.status).toBe('connected');

    // The same event delivered again changes nothing, even for a connection made since.
    await connect(stack, broker, testUser);
    expect((await deauthorized(account, false, 'evt_once')).status).toBe(200);
    expect((await call(broker, '/api/connection/status', testUser)).body.status).toBe('connected');
  });
});

describe('a captured request is worth nothing', () => {
  /** A signed request as captured on the wire: its body and its signature, to be sent again. */
  async function capture(user: User, path: string, extra: object = {}) {
    const params = withNonce(extra);
    const signature = await sign(user, path, params);
    return { send: () => post(path, { ...user, ...params }, signature) };
  }

  test("an old /api/token request does not return the next grant's token", async () => {
    const user = newUser('hostile');
    await connect(stack, broker, user);
    const captured = await capture(user, '/api/token');
    expect((await captured.send()).status).toBe(200);
    await connect(stack, broker, user);
    const replay = await captured.send();
    expect(replay.status).toBe(401);
    expect(JSON.stringify(await replay.json())).not.toMatch(/access_token/);
  });

  test('a replayed disconnect neither ends the reconnected connection nor revokes it', async () => {
    const user = newUser('hostile');
    await connect(stack, broker, user);
    const captured = await capture(user, '/api/oauth/disconnect');
    expect((await captured.send()).status).toBe(200);
    await connect(stack, broker, user);
    const revocations = (await providerStats(stack)).revocations;
    for (let i = 0; i < 20; i++) expect((await captured.send()).status).toBe(401);
    expect((await call(broker, '/api/connection/status', user)).body.status).toBe('connected');
    expect((await providerStats(stack)).revocations).toBe(revocations);
  });

  test('a replayed exchange is refused before the provider; the same code signed again is invalid_code, and the fresh grant lives', async () => {
    const user = newUser('hostile');
    const grant = await authorize(stack);
    const captured = await capture(user, '/api/oauth/exchange', grant);
    expect((await captured.send()).status).toBe(200);
    const exchanges = (await providerStats(stack)).token.authorization_code;
    expect((await captured.send()).status).toBe(401);
    const again = await call(broker, '/api/oauth/exchange', user, grant);
    expect([again.status, again.body.error?.code]).toEqual([400, 'invalid_code']);
    expect((await providerStats(stack)).token.authorization_code).toEqual(exchanges);
    expect((await call(broker, '/api/token', user)).status).toBe(200);
  });

  test('replays do not use up the exchange limit', async () => {
    const limited = await startBroker(stack, { limits: { exchange: { perConnection: 3, perAccount: 100, windowMs: 60_000 } } });
    try {
      const user = newUser('hostile');
      const made = { code: 'made-up-code', verifier: 'v'.repeat(43), redirect_uri: dashboardRedirectUri(APP_ID, 'test') };
      const params = withNonce(made);
      const signature = await sign(user, '/api/oauth/exchange', params);
      const send = () => fetch(`${limited.url}/api/oauth/exchange`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: JSON.stringify({ ...user, ...params }) });
      expect((await send()).status).toBe(400);
      for (let i = 0; i < 10; i++) expect((await send()).status).toBe(401);
      expect((await call(limited, '/api/oauth/exchange', user, { ...made, code: 'another-made-up-code' })).status).toBe(400);
    } finally {
      await limited.stop();
    }
  });
});

describe('limits per connection and per account', () => {
  test('/api/token: per connection, then per account, with Retry-After', async () => {
    const limited = await startBroker(stack, { limits: { token: { perConnection: 5, perAccount: 8, windowMs: 60_000 } } });
    try {
      const account = `acct_limits${Date.now()}`;
      const [one, two] = [newUser('hostile', { account_id: account }), newUser('hostile', { account_id: account })];
      for (let i = 0; i < 5; i++) expect((await call(limited, '/api/token', one)).status).not.toBe(429);
      const refused = await call(limited, '/api/token', one);
      expect([refused.status, refused.body.error?.code]).toEqual([429, 'rate_limited']);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // The account's other users share the account's limit, which counts only what was let through: 8 - 5 = 3 left.
      for (let i = 0; i < 3; i++) expect((await call(limited, '/api/token', two)).status).not.toBe(429);
      expect((await call(limited, '/api/token', two)).status).toBe(429);
      expect((await call(limited, '/api/token', newUser('hostile'))).status).not.toBe(429);
    } finally {
      await limited.stop();
    }
  });

  test("one tenant's disconnects never stop another's caching", async () => {
    const finds = () => stack.emulator.requests['GET /v1/apps/secrets/find'] ?? 0;
    const warm = newUser('hostile', { account_id: 'acct_warmtenant' });
    const attacker = newUser('hostile', { account_id: 'acct_attacker' });
    await connect(stack, broker, warm);
    await connect(stack, broker, attacker);
    // The warm tenant's read takes 300 ms; the attacker disconnects meanwhile (a change, as the replays were).
    stack.emulator.faults.inject({ kind: 'delay', delayMs: 300, route: 'GET /v1/apps/secrets/find', name: 'oauth.access' });
    const started = finds();
    const reading = call(broker, '/api/token', warm);
    expect(await eventually(() => finds() > started)).toBe(true);
    expect((await call(broker, '/api/oauth/disconnect', attacker)).status).toBe(200);
    expect((await reading).status).toBe(200);
    // The warm tenant's token was cached all the same: no more reads for it.
    const before = finds();
    for (let i = 0; i < 5; i++) expect((await call(broker, '/api/token', warm)).status).toBe(200);
    expect(finds()).toBe(before);
  });

  test('a user without a connection costs the Secret Store nothing for a few seconds', async () => {
    const finds = () => stack.emulator.requests['GET /v1/apps/secrets/find'] ?? 0;
    const nobody = newUser('hostile');
    expect((await call(broker, '/api/token', nobody)).status).toBe(404);
    const after = finds();
    for (let i = 0; i < 10; i++) expect((await call(broker, '/api/token', nobody)).body.error?.code).toBe('not_connected');
    expect(finds()).toBe(after);
    // A connection made meanwhile ends it at once.
    await connect(stack, broker, nobody);
    expect((await call(broker, '/api/token', nobody)).status).toBe(200);
  });
});

describe('malformed input never reaches a 500', () => {
  test('a body nested 6000 levels deep is a 401 unsigned, one nested past the limit a 400 signed, and nothing is logged as an error', async () => {
    const user = newUser('hostile');
    const errorsBefore = logLines.filter((line) => line.includes('"level":50')).length;
    const deep = `${'['.repeat(6000)}${']'.repeat(6000)}`;
    const body = `{"user_id":"${user.user_id}","account_id":"${user.account_id}","mode":"test","nonce":"${'n'.repeat(32)}","deep":${deep}}`;
    const res = await fetch(`${broker.url}/api/token`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' }, body });
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([401, 'invalid_signature']);
    const signed = await call(broker, '/api/token', user, { deep: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) });
    expect([signed.status, signed.body.error?.code]).toEqual([400, 'invalid_request']);
    expect(logLines.filter((line) => line.includes('"level":50')).length).toBe(errorsBefore);
  });

  test('a parameter of the wrong kind, or one the route does not take, is a 400', async () => {
    const user = newUser('hostile');
    for (const extra of [{ code: { nested: 'object' }, verifier: 'v'.repeat(43), redirect_uri: 'x' }, { surprise: 'field' }]) {
      const answer = await call(broker, '/api/oauth/exchange', user, extra);
      expect([answer.status, answer.body.error?.code]).toEqual([400, 'invalid_request']);
    }
    const noNonce = await post('/api/token', user, await sign(user, '/api/token'));
    expect(noNonce.status).toBe(400);
  });
});

describe('a full Secret Store scope', () => {
  const junk = (user: User, n: number) => Promise.all(Array.from({ length: n }, (_, i) => writeOwnSecret(user, `other.app.${i}`, 'x')));
  const removeJunk = (user: User, i: number) =>
    createStripeClient(KEYS[user.mode], { apiBase: stack.emulatorUrl, maxNetworkRetries: 0 }).apps.secrets.deleteWhere(
      { name: `other.app.${i}`, scope: { type: 'user', user: user.user_id } }, { stripeAccount: user.account_id });

  test('the exchange answers 409 secret_store_full before the code is spent; with room again, the same code connects', async () => {
    const user = newUser('hostile');
    await junk(user, 9);
    const grant = await authorize(stack);
    const exchanges = (await providerStats(stack)).token.authorization_code;
    const full = await call(broker, '/api/oauth/exchange', user, grant);
    expect([full.status, full.body.error?.code]).toEqual([409, 'secret_store_full']);
    expect((await providerStats(stack)).token.authorization_code).toEqual(exchanges);
    await removeJunk(user, 0);
    expect((await call(broker, '/api/oauth/exchange', user, grant)).status).toBe(200);
  });

  test('a scope that fills up under a refresh: 409 while full, the answer waits in the outbox, and goes through once there is room', async () => {
    const user = newUser('hostile');
    await connect(stack, broker, user);
    await junk(user, 8);
    stack.clock.offset += 61; // the access secret expires and is gone: 9 secrets
    try {
      await writeOwnSecret(user, 'other.app.8', 'x');
      const full = await call(broker, '/api/token', user);
      expect([full.status, full.body.error?.code]).toEqual([409, 'secret_store_full']);
      await removeJunk(user, 8);
      for (let i = 0; i < 100 && (await broker.storage.outbox.connections()).length > 0; i++) await sleep(50);
      const stored = await storedSecrets(stack, user);
      expect([stored.refresh!.payload.generation, stored.access!.payload.generation]).toEqual([2, 2]);
      expect((await call(broker, '/api/token', user)).body.access_token).toBe(stored.access!.payload.access_token);
    } finally {
      stack.clock.offset = 0;
    }
  });
});

describe('deauthorization of another application', () => {
  test('with STRIPE_APPLICATION_ID set, an event for another application changes nothing', async () => {
    const scoped = await startBroker(stack, { applicationId: 'ca_thisapp' });
    try {
      const user = newUser('hostile', { account_id: 'acct_otherapp' });
      await connect(stack, scoped, user);
      const event = (application: string, id: string) =>
        postStripeEvent(scoped, { id, object: 'event', type: 'account.application.deauthorized', account: user.account_id, livemode: false, data: { object: { id: application, object: 'application' } } });
      expect((await event('ca_someoneelse', 'evt_other_app')).status).toBe(200);
      expect((await call(scoped, '/api/connection/status', user)).body.status).toBe('connected');
      expect((await event('ca_thisapp', 'evt_this_app')).status).toBe(200);
      expect((await call(scoped, '/api/connection/status', user)).body.status).toBe('not_connected');
    } finally {
      await scoped.stop();
    }
  });
});
