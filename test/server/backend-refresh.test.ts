import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as client from 'openid-client';
import { type RefreshPayload, SECRET_NAMES, TokenResponse, tokenPayloads } from '../../src/common/token-layout';
import { CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, PUBLIC_CLIENT_ID } from '../../server/local/oauth-provider/clients';
import { createStripeClient } from '../../server/stripe-client';
import { discover, providerStats, refreshCount, untilAtProvider } from '../support/dev-provider';
import { startTokenGate } from '../support/token-gate';
import { InProcessLocks } from '../../server/storage/locks';
import { openSqliteStorage } from '../../server/storage/sqlite';
import { fromWire } from '../../src/common/connection-id';
import { eventually, KEYS, newUser, User } from '../support/fixtures';
import { startBroker, TestBroker } from '../support/in-process-broker';
import { logLines, seenSecrets } from '../support/leak-check';
import { call, connect } from '../support/signed-calls';
import { Stack, stackSuite, storedSecrets } from '../support/stack';

let stack: Stack;
let broker: TestBroker;
let user: User;

stackSuite(undefined, (started) => (stack = started));
beforeEach(async () => {
  await stack.provider.control('/dev/reset', {});
  await stack.provider.control('/dev/settings', { rotateRefreshTokens: true });
  stack.clock.offset = 0;
  stack.emulator.faults.clear();
  broker = await startBroker(stack);
  // A user of their own per test, so no test sees another's connection.
  user = newUser('refresh');
});
afterEach(() => broker.stop());

/** Moves the shared clock past the access token's expiry (the emulator then deletes its secret). */
const expireAccess = () => (stack.clock.offset += 61);

/** A connected user whose access token has just expired; returns the secrets as they were stored. */
async function expiredConnection() {
  expect((await connect(stack, broker, user)).status).toBe(200);
  expireAccess();
  return storedSecrets(stack, user);
}

test('exchange writes both secrets in the user scope: access expiring with the token, refresh not', async () => {
  const answer = await connect(stack, broker, user);
  expect(answer.status).toBe(200);
  expect(answer.body).toMatchObject({ status: 'connected', refresh_expires_at: null });
  const now = stack.now();
  const { access, refresh } = await storedSecrets(stack, user);
  expect(access!.expires_at).toBeGreaterThanOrEqual(now + 59);
  expect(access!.expires_at).toBeLessThanOrEqual(now + 60);
  expect(access!.payload).toMatchObject({ token_type: 'bearer', generation: 1, expires_at: access!.expires_at });
  expect(refresh!.expires_at).toBeNull();
  expect(refresh!.payload).toMatchObject({ generation: 1, refresh_token: expect.any(String), access_lifetime: 60 });
  expect(answer.body.access_expires_at).toBe(access!.expires_at);
});

test('a fresh access token is returned without calling the provider', async () => {
  await connect(stack, broker, user);
  const { access } = await storedSecrets(stack, user);
  const answer = await call(broker, '/api/token', user);
  expect(answer.status).toBe(200);
  expect(answer.body).toMatchObject({ access_token: access!.payload.access_token, expires_at: access!.expires_at });
  expect(await refreshCount(stack)).toBe(0);
});

test('an expired access token is refreshed on /api/token and both secrets are rewritten', async () => {
  await connect(stack, broker, user);
  const before = await storedSecrets(stack, user);
  expireAccess();
  expect((await storedSecrets(stack, user)).access).toBeUndefined();
  const asked = stack.now();
  const answer = await call(broker, '/api/token', user);
  expect(answer.status).toBe(200);
  const after = await storedSecrets(stack, user);
  expect(answer.body.access_token).toBe(after.access!.payload.access_token);
  expect(after.access!.payload.access_token).not.toBe(before.access!.payload.access_token);
  expect(after.access!.payload.generation).toBe(2);
  expect(after.refresh!.payload.generation).toBe(2);
  expect(after.refresh!.payload.refresh_token).not.toBe(before.refresh!.payload.refresh_token);
  // Issued during the call (the clock may pass a second boundary meanwhile), expiring 60 s later.
  const issued = after.access!.payload.issued_at as number;
  expect([issued >= asked, issued <= stack.now(), after.access!.expires_at]).toEqual([true, true, issued + 60]);
  expect(await refreshCount(stack)).toBe(1);
  const record = await broker.storage.records.get({ accountId: user.account_id, userId: user.user_id, mode: 'test' });
  expect([record!.status, record!.lastRefreshAt! >= asked, record!.lastRefreshAt! <= stack.now()]).toEqual(['connected', true, true]);
});

test('a token within the refresh margin is refreshed ahead of expiry', async () => {
  await connect(stack, broker, user);
  stack.clock.offset += 45; // 15 s left of 60: inside min(300, 60 / 2) = 30 s
  const answer = await call(broker, '/api/token', user);
  expect(answer.status).toBe(200);
  expect(await refreshCount(stack)).toBe(1);
  stack.clock.offset += 10;
  await call(broker, '/api/token', user);
  expect(await refreshCount(stack)).toBe(1);
});

test('50 concurrent /api/token calls on an expiring connection make exactly one refresh', async () => {
  await expiredConnection();
  const answers = await Promise.all(Array.from({ length: 50 }, () => call(broker, '/api/token', user)));
  expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
  expect(new Set(answers.map((a) => a.body.access_token)).size).toBe(1);
  const stats = await providerStats(stack);
  expect(stats.token.refresh_token).toEqual({ 200: 1 });
});

describe('Secret Store requests per refresh, counted at the emulator', () => {
  /** Requests the emulator received while `action` ran, by route. */
  async function requestsDuring(action: () => Promise<unknown>): Promise<Record<string, number>> {
    const before = { ...stack.emulator.requests };
    await action();
    return Object.fromEntries(Object.entries(stack.emulator.requests).map(([route, n]) => [route, n - (before[route] ?? 0)]).filter(([, n]) => n !== 0));
  }
  const READ = 'GET /v1/apps/secrets/find';
  const WRITE = 'POST /v1/apps/secrets';

  test('an on-demand refresh makes three: the refresh secret read under the lock, then both writes', async () => {
    await connect(stack, broker, user);
    expect((await call(broker, '/api/token', user)).status).toBe(200); // cached: the backend knows this token
    expireAccess();
    const refresh = await requestsDuring(async () => expect((await call(broker, '/api/token', user)).status).toBe(200));
    expect(refresh).toEqual({ [READ]: 1, [WRITE]: 2 });
    // And the next call is warm: none.
    expect(await requestsDuring(() => call(broker, '/api/token', user))).toEqual({});
  });

  // A registry on disk, for a backend that starts again (removed after the suite).
  const registryDir = mkdtempSync(path.join(os.tmpdir(), 'broker-registry-'));
  afterAll(() => rmSync(registryDir, { recursive: true, force: true }));

  test('three too for a backend that has never seen the token (its registry knows it is due), and for keep-alive', async () => {
    const file = path.join(registryDir, 'registry.sqlite');
    await broker.stop();
    broker = await startBroker(stack, { storage: openSqliteStorage(file) });
    await connect(stack, broker, user);
    await broker.stop();
    expireAccess();
    broker = await startBroker(stack, { storage: openSqliteStorage(file) });
    expect(await requestsDuring(async () => expect((await call(broker, '/api/token', user)).status).toBe(200))).toEqual({ [READ]: 1, [WRITE]: 2 });
    expect(await requestsDuring(() => broker.engine.refreshNow(fromWire(user)))).toEqual({ [READ]: 1, [WRITE]: 2 });
  });

  test('a refresh another instance made meanwhile costs one more read, and no write', async () => {
    const locks = new InProcessLocks();
    const first = await startBroker(stack, { storage: { ...openSqliteStorage(), locks } });
    const second = await startBroker(stack, { storage: { ...openSqliteStorage(), locks } });
    try {
      await connect(stack, first, user);
      for (const instance of [first, second]) expect((await call(instance, '/api/token', user)).status).toBe(200);
      expireAccess();
      expect((await call(first, '/api/token', user)).status).toBe(200);
      // The second still holds the old token as due: under the lock it finds the newer generation, and reads its access token.
      expect(await requestsDuring(async () => expect((await call(second, '/api/token', user)).status).toBe(200))).toEqual({ [READ]: 2 });
      expect((await providerStats(stack)).token.refresh_token).toEqual({ 200: 1 });
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});

test('two backend instances sharing a lock refresh once between them (the read after the lock)', async () => {
  const locks = new InProcessLocks();
  const first = await startBroker(stack, { storage: { ...openSqliteStorage(), locks } });
  const second = await startBroker(stack, { storage: { ...openSqliteStorage(), locks } });
  try {
    await connect(stack, first, user);
    expireAccess();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(i % 2 ? second : first, '/api/token', user)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => a.body.access_token)).size).toBe(1);
    expect((await providerStats(stack)).token.refresh_token).toEqual({ 200: 1 });
  } finally {
    await first.stop();
    await second.stop();
  }
});

test('a refresh response without refresh_token keeps the old one', async () => {
  await stack.provider.control('/dev/settings', { rotateRefreshTokens: false });
  await connect(stack, broker, user);
  const before = await storedSecrets(stack, user);
  await stack.provider.control('/dev/faults', { kind: 'strip_refresh_token' });
  expireAccess();
  expect((await call(broker, '/api/token', user)).status).toBe(200);
  const after = await storedSecrets(stack, user);
  expect(after.refresh!.payload).toMatchObject({ refresh_token: before.refresh!.payload.refresh_token, generation: 2 });
  expireAccess();
  expect((await call(broker, '/api/token', user)).status).toBe(200);
  expect(await refreshCount(stack)).toBe(2);
});

test('a refresh response without expires_in uses the last known lifetime, not "always expired"', async () => {
  await connect(stack, broker, user);
  await stack.provider.control('/dev/faults', { kind: 'strip_expires_in' });
  expireAccess();
  expect((await call(broker, '/api/token', user)).status).toBe(200);
  const { access } = await storedSecrets(stack, user);
  expect(access!.expires_at).toBe((access!.payload.issued_at as number) + 60);
  for (let i = 0; i < 5; i++) expect((await call(broker, '/api/token', user)).status).toBe(200);
  expect(await refreshCount(stack)).toBe(1);
});

test('a revoked grant makes the connection reconnect_required and removes its secrets', async () => {
  await connect(stack, broker, user);
  const { refresh } = await storedSecrets(stack, user);
  const revoked = await fetch(`${stack.provider.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refresh!.payload.refresh_token, client_id: 'stripe-app-dev' }),
  });
  expect(revoked.status).toBe(200);
  expireAccess();
  const answer = await call(broker, '/api/token', user);
  expect(answer.status).toBe(409);
  expect(answer.body.error!.code).toBe('reconnect_required');
  expect(await storedSecrets(stack, user)).toEqual({ access: undefined, refresh: undefined });
  expect((await call(broker, '/api/connection/status', user)).body).toMatchObject({ status: 'reconnect_required', reason: 'invalid_grant' });
  expect((await call(broker, '/api/token', user)).status).toBe(409);
  // The reason it was lost for stays until a reconnect (the secrets are gone now, which is not why).
  expect((await call(broker, '/api/connection/status', user)).body).toMatchObject({ status: 'reconnect_required', reason: 'invalid_grant' });
});

/** As another instance would: refreshes `refresh` at the provider and stores the new refresh secret (unsealed: a public client). */
async function rotateElsewhere(refresh: RefreshPayload) {
  const config = await discover(stack.provider.issuer, PUBLIC_CLIENT_ID);
  const response = await client.refreshTokenGrant(config, refresh.refresh_token!);
  const tokens = tokenPayloads({ ...response, expires_in: 60 } as TokenResponse, refresh, stack.now(), 3600);
  seenSecrets.add(tokens.access.access_token).add(tokens.refresh.refresh_token!);
  const sdk = createStripeClient(KEYS.test, { apiBase: stack.emulatorUrl, maxNetworkRetries: 0, stripeAccount: user.account_id });
  const scope = { type: 'user' as const, user: user.user_id };
  await sdk.apps.secrets.create({ name: SECRET_NAMES.refresh, payload: JSON.stringify(tokens.refresh), scope });
  return { tokens, config, sdk, scope };
}

test('an invalid_grant caused by a concurrent refresh elsewhere is not a disconnection', async () => {
  const before = await expiredConnection();
  // The broker's refresh reaches the provider, which answers invalid_grant after 800 ms.
  await stack.provider.control('/dev/faults', { kind: 'invalid_grant', delayMs: 800 });
  const pending = call(broker, '/api/token', user);
  await untilAtProvider(stack);
  // Meanwhile "another instance" refreshes the same grant and rewrites the secrets.
  const { tokens, sdk, scope } = await rotateElsewhere(before.refresh!.payload);
  await sdk.apps.secrets.create({ name: SECRET_NAMES.access, payload: JSON.stringify(tokens.access), scope, expires_at: tokens.access.expires_at });
  const answer = await pending;
  expect(answer.status).toBe(200);
  // The broker refreshed once more with the newer token rather than trusting it blindly: the answer is the provider's own.
  const after = await storedSecrets(stack, user);
  expect(after.refresh!.payload.generation).toBe(tokens.refresh.generation + 1);
  expect(answer.body.access_token).toBe(after.access!.payload.access_token);
  const me = await fetch(`${stack.provider.issuer}/me`, { headers: { authorization: `Bearer ${answer.body.access_token}` } });
  expect(me.status).toBe(200);
  expect((await call(broker, '/api/connection/status', user)).body.status).toBe('connected');
});

test('an invalid_grant after a re-read is lost for a known reason, not as an unknown outcome', async () => {
  const before = await expiredConnection();
  await stack.provider.control('/dev/faults', { kind: 'invalid_grant', delayMs: 800 });
  const pending = call(broker, '/api/token', user);
  await untilAtProvider(stack);
  // Another instance rotated the token (refresh secret only), and the new grant was then revoked.
  const { tokens, config } = await rotateElsewhere(before.refresh!.payload);
  await client.tokenRevocation(config, tokens.refresh.refresh_token!, { token_type_hint: 'refresh_token' });
  expect((await pending).body.error?.code).toBe('reconnect_required');
  expect((await call(broker, '/api/connection/status', user)).body).toMatchObject({ status: 'reconnect_required', reason: 'invalid_grant' });
});

test('a provider outage (503) answers 503, keeps the tokens, and the next call after recovery succeeds', async () => {
  const before = await expiredConnection();
  await stack.provider.control('/dev/faults', { kind: 'http503', count: 3 });
  const failed = await call(broker, '/api/token', user);
  expect(failed.status).toBe(503);
  expect(failed.body.error!.code).toBe('provider_unavailable');
  expect(await storedSecrets(stack, user)).toEqual(before);
  const recovered = await call(broker, '/api/token', user);
  expect(recovered.status).toBe(200);
  expect((await storedSecrets(stack, user)).refresh!.payload.generation).toBe(2);
});

test('a transient 429 from the provider is retried within the call', async () => {
  await expiredConnection();
  await stack.provider.control('/dev/faults', { kind: 'http429', count: 1 });
  expect((await call(broker, '/api/token', user)).status).toBe(200);
});

test('a provider timeout answers 503 without a retry, keeps the tokens, and recovers', async () => {
  const before = await expiredConnection();
  await stack.provider.control('/dev/faults', { kind: 'hang', delayMs: 1500 });
  const failed = await call(broker, '/api/token', user);
  expect(failed.status).toBe(503);
  expect(await storedSecrets(stack, user)).toEqual(before);
  expect(await refreshCount(stack, '200')).toBe(0); // no second attempt reached the provider
  // The hung request finishes at the provider.
  expect(await eventually(async () => (await providerStats(stack)).tokenInFlight === 0)).toBe(true);
  expect((await call(broker, '/api/token', user)).status).toBe(200);
});

test('Secret Store 500s on the rewrite are retried and nothing is lost', async () => {
  await expiredConnection();
  stack.emulator.faults.inject({ kind: 'http500', count: 2, route: 'POST /v1/apps/secrets' });
  const answer = await call(broker, '/api/token', user);
  expect(answer.status).toBe(200);
  const after = await storedSecrets(stack, user);
  expect(after.access!.payload.access_token).toBe(answer.body.access_token);
  expect(after.refresh!.payload.generation).toBe(2);
});

test('a lost Secret Store response on the rewrite is replayed by its idempotency key', async () => {
  await expiredConnection();
  stack.emulator.faults.inject({ kind: 'drop_after', count: 1, route: 'POST /v1/apps/secrets' });
  expect((await call(broker, '/api/token', user)).status).toBe(200);
  expect((await storedSecrets(stack, user)).refresh!.payload.generation).toBe(2);
});

test('a Secret Store outage during the rewrite keeps the refreshed tokens in the outbox until they are written', async () => {
  await expiredConnection();
  stack.emulator.faults.inject({ kind: 'http500', count: 1000, route: 'POST /v1/apps/secrets' });
  const answer = await call(broker, '/api/token', user);
  expect(answer.status).toBe(200);
  const id = { accountId: user.account_id, userId: user.user_id, mode: 'test' as const };
  expect(await broker.storage.outbox.get(id)).toMatchObject({ generation: 2 });
  // The stored refresh token is spent now; the broker must serve and refresh from the outbox.
  expect((await call(broker, '/api/token', user)).body.access_token).toBe(answer.body.access_token);
  stack.emulator.faults.clear();
  for (let i = 0; i < 100 && (await broker.storage.outbox.get(id)); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await broker.storage.outbox.get(id)).toBeUndefined();
  const after = await storedSecrets(stack, user);
  expect(after.access!.payload.access_token).toBe(answer.body.access_token);
  expect(after.refresh!.payload.generation).toBe(2);
  expireAccess();
  expect((await call(broker, '/api/token', user)).status).toBe(200);
  expect((await providerStats(stack)).token.refresh_token).toEqual({ 200: 2 });
});

test('a Secret Store that stays down on reads is a 503 secret_store_unavailable, and nothing changes', async () => {
  await connect(stack, broker, user);
  const before = await storedSecrets(stack, user);
  stack.emulator.faults.inject({ kind: 'http500', count: 3, route: 'GET /v1/apps/secrets/find' });
  const answer = await call(broker, '/api/token', user);
  expect(answer.status).toBe(503);
  expect(answer.body.error!.code).toBe('secret_store_unavailable');
  expect(await storedSecrets(stack, user)).toEqual(before);
  expect((await call(broker, '/api/token', user)).status).toBe(200);
});

test("the Secret Store's own 429 on a read is a 503 secret_store_busy with Retry-After, and nothing changes", async () => {
  await connect(stack, broker, user);
  const before = await storedSecrets(stack, user);
  stack.emulator.faults.inject({ kind: 'http429', count: 1_000, route: 'GET /v1/apps/secrets/find' });
  const answer = await call(broker, '/api/token', user);
  expect([answer.status, answer.body.error?.code, answer.headers.get('retry-after')]).toEqual([503, 'secret_store_busy', '1']);
  stack.emulator.faults.clear();
  expect(await storedSecrets(stack, user)).toEqual(before);
  expect((await call(broker, '/api/token', user)).status).toBe(200);
});

test('status follows the connection, and disconnect revokes, deletes both secrets and forgets', async () => {
  expect((await call(broker, '/api/connection/status', user)).body.status).toBe('not_connected');
  await connect(stack, broker, user);
  const status = await call(broker, '/api/connection/status', user);
  expect(status.body).toMatchObject({ status: 'connected', refresh_expires_at: null, access_expires_at: expect.any(Number) });
  const { refresh } = await storedSecrets(stack, user);
  const answer = await call(broker, '/api/oauth/disconnect', user);
  expect(answer.body).toEqual({ status: 'not_connected', revoked: true });
  expect((await providerStats(stack)).revocations).toBe(1);
  expect(await storedSecrets(stack, user)).toEqual({ access: undefined, refresh: undefined });
  expect((await call(broker, '/api/connection/status', user)).body.status).toBe('not_connected');
  expect((await call(broker, '/api/token', user)).status).toBe(404);
  // The revoked refresh token is dead at the provider.
  const introspection = await fetch(`${stack.provider.issuer}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refresh!.payload.refresh_token, client_id: 'stripe-app-dev' }),
  });
  expect(((await introspection.json()) as { active: boolean }).active).toBe(false);
});

test('a provider that issues no refresh token: the access token serves until it expires, then reconnect', async () => {
  const answer = await connect(stack, broker, user, { scope: 'openid profile' });
  expect(answer.status).toBe(200);
  const { refresh } = await storedSecrets(stack, user);
  expect(refresh!.payload.refresh_token).toBeNull();
  stack.clock.offset += 45; // inside the refresh margin, not yet expired: nothing to refresh with, so serve it
  expect((await call(broker, '/api/token', user)).status).toBe(200);
  expireAccess();
  const expired = await call(broker, '/api/token', user);
  expect(expired.status).toBe(409);
  expect(expired.body.error!.code).toBe('reconnect_required');
  expect(await refreshCount(stack)).toBe(0);
  expect((await call(broker, '/api/connection/status', user)).body.status).toBe('reconnect_required');
});

test('a confidential client exchanges and refreshes with its secret', async () => {
  const confidential = await startBroker(stack, { provider: { clientId: CONFIDENTIAL_CLIENT_ID, clientSecret: CONFIDENTIAL_CLIENT_SECRET } });
  try {
    expect((await connect(stack, confidential, user, { login: 'bob', clientId: CONFIDENTIAL_CLIENT_ID })).status).toBe(200);
    expireAccess();
    expect((await call(confidential, '/api/token', user)).status).toBe(200);
    expect((await storedSecrets(stack, user)).refresh!.payload.generation).toBe(2);
  } finally {
    await confidential.stop();
  }
});

test('explicit endpoints instead of discovery: exchange, refresh and revocation work the same', async () => {
  const issuer = stack.provider.issuer;
  const explicit = await startBroker(stack, {
    provider: { issuer: undefined, tokenEndpoint: new URL(`${issuer}/token`), revocationEndpoint: new URL(`${issuer}/token/revocation`) },
  });
  try {
    expect((await connect(stack, explicit, user)).status).toBe(200);
    expireAccess();
    expect((await call(explicit, '/api/token', user)).status).toBe(200);
    expect(await refreshCount(stack)).toBe(1);
    expect((await call(explicit, '/api/oauth/disconnect', user)).body).toEqual({ status: 'not_connected', revoked: true });
  } finally {
    await explicit.stop();
  }
});

test('explicit endpoints on another host than the issuer (ID tokens checked against OAUTH_ISSUER, no discovery)', async () => {
  // The token endpoint answers from another origin, as Google's token host differs from its issuer.
  const gate = await startTokenGate(stack.provider.issuer);
  const elsewhere = (issuer?: URL) => startBroker(stack, { provider: { issuer, tokenEndpoint: new URL(`${gate.url}/token`) } });
  const named = await elsewhere(new URL(stack.provider.issuer));
  const unnamed = await elsewhere(undefined);
  try {
    // The openid scope brings ID tokens, whose `iss` is the provider's issuer.
    expect((await connect(stack, named, user)).status).toBe(200);
    expireAccess();
    expect((await call(named, '/api/token', user)).status).toBe(200);
    // Without the issuer named, the ID token's `iss` does not match the token endpoint's host: the
    // tokens are still the provider's answer (the code is spent), so they are kept, and the connection degraded.
    const other = { ...user, user_id: `${user.user_id}_unnamed` };
    const kept = await connect(stack, unnamed, other);
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ status: 'connected', degraded: true });
    expect((await storedSecrets(stack, other)).refresh!.payload.refresh_token).toEqual(expect.any(String));
    expect(logLines.some((line) => line.includes('"problem"') && line.includes(other.user_id))).toBe(true);
  } finally {
    await named.stop();
    await unnamed.stop();
    await gate.close();
  }
});

test("two refresh answers crossed between alice's and bob's connections: neither is stored or served, and each needs a reconnect", async () => {
  const gate = await startTokenGate(stack.provider.issuer);
  const crossed = await startBroker(stack, { provider: { issuer: new URL(stack.provider.issuer), tokenEndpoint: new URL(`${gate.url}/token`) } });
  const bob = newUser('bob');
  try {
    expect((await connect(stack, crossed, user)).status).toBe(200);
    expect((await connect(stack, crossed, bob, { login: 'bob' })).status).toBe(200);
    expireAccess();
    gate.crossNext();
    const answers = await Promise.all([user, bob].map((someone) => call(crossed, '/api/token', someone)));
    expect(answers.map((answer) => answer.body.error?.code)).toEqual(['reconnect_required', 'reconnect_required']);
    for (const someone of [user, bob]) {
      expect((await call(crossed, '/api/connection/status', someone)).body).toMatchObject({ status: 'reconnect_required', reason: 'subject_changed' });
      expect(await storedSecrets(stack, someone)).toEqual({ access: undefined, refresh: undefined });
    }
    expect(logLines.filter((line) => line.includes("another subject's tokens")).length).toBe(2);
  } finally {
    await crossed.stop();
    await gate.close();
  }
});

test('a token too large for the Secret Store is a clear 502 on exchange, and nothing is written', async () => {
  await stack.provider.control('/dev/faults', { kind: 'huge_access_token' });
  const answer = await connect(stack, broker, user);
  expect(answer.status).toBe(502);
  expect(answer.body.error).toEqual({ code: 'token_too_large', message: expect.stringMatching(/oauth\.refresh|oauth\.access/) });
  expect(answer.body.error!.message).toMatch(/at most 5000/);
  expect(await storedSecrets(stack, user)).toEqual({ access: undefined, refresh: undefined });
});

test('a replayed or wrong authorization code is a 400 invalid_code and changes nothing', async () => {
  const answer = await call(broker, '/api/oauth/exchange', user, { code: 'not-a-real-code', verifier: 'v'.repeat(43), redirect_uri: 'http://127.0.0.1/oauth/callback' });
  expect(answer.status).toBe(400);
  expect(answer.body.error!.code).toBe('invalid_code');
  expect(await storedSecrets(stack, user)).toEqual({ access: undefined, refresh: undefined });
});

test('a refresh secret older than one already committed (a stale read, a late write put back) is never sent: 503 refresh_pending, then refreshed once the read is current', async () => {
  await connect(stack, broker, user);
  const first = (await storedSecrets(stack, user)).refresh!;
  expireAccess();
  expect((await call(broker, '/api/token', user)).status).toBe(200);
  const second = (await storedSecrets(stack, user)).refresh!;
  expect(second.payload.generation).toBe(2);
  const sdk = createStripeClient(KEYS.test, { apiBase: stack.emulatorUrl, maxNetworkRetries: 0, stripeAccount: user.account_id });
  const showRefresh = (raw: string) => sdk.apps.secrets.create({ name: SECRET_NAMES.refresh, payload: raw, scope: { type: 'user', user: user.user_id } });
  const [refreshed, refused] = [await refreshCount(stack), await refreshCount(stack, '400')];
  // The Secret Store shows generation 1 again, as a stale read would: the registry knows 2 was committed.
  await showRefresh(first.raw);
  expireAccess();
  const answer = await call(broker, '/api/token', user);
  expect([answer.status, answer.body.error?.code]).toEqual([503, 'refresh_pending']);
  expect([await refreshCount(stack), await refreshCount(stack, '400')]).toEqual([refreshed, refused]);
  expect(logLines.some((line) => line.includes('an older refresh token than one already seen'))).toBe(true);
  // The read is current again: the refresh goes on from generation 2.
  await showRefresh(second.raw);
  expect((await call(broker, '/api/token', user)).status).toBe(200);
  expect((await storedSecrets(stack, user)).refresh!.payload.generation).toBe(3);
  expect(await refreshCount(stack, '400')).toBe(refused);
});

test('generation fencing: a held token set never replaces a newer stored generation', async () => {
  // The newer generation is written around the broker, so its own background flush must stay out of the way.
  await broker.stop();
  broker = await startBroker(stack, { background: { flushIntervalMs: 3_600_000 } });
  await connect(stack, broker, user);
  const id = { accountId: user.account_id, userId: user.user_id, mode: 'test' as const };
  const stored = await storedSecrets(stack, user);
  const now = stack.now();
  const older = tokenPayloads({ access_token: 'held-access-token-gen2', token_type: 'bearer', expires_in: 60, refresh_token: 'held-refresh-token-gen2' }, stored.refresh!.payload, now, 3600);
  seenSecrets.add('held-access-token-gen2').add('held-refresh-token-gen2');
  // The Secret Store refuses writes, so generation 2 stays in the outbox...
  stack.emulator.faults.inject({ kind: 'http500', count: 1000, route: 'POST /v1/apps/secrets' });
  expect(await broker.tokens.commit(id, older)).toBe('pending');
  stack.emulator.faults.clear();
  // ...while generation 3 reaches the store another way (another instance, an earlier flush).
  const newer = tokenPayloads({ access_token: 'newer-access-token-gen3', token_type: 'bearer', expires_in: 60, refresh_token: 'newer-refresh-token-gen3' }, older.refresh, now, 3600);
  seenSecrets.add('newer-access-token-gen3').add('newer-refresh-token-gen3');
  const sdk = createStripeClient(KEYS.test, { apiBase: stack.emulatorUrl, maxNetworkRetries: 0, stripeAccount: user.account_id });
  await sdk.apps.secrets.create({ name: SECRET_NAMES.refresh, payload: JSON.stringify(newer.refresh), scope: { type: 'user', user: user.user_id } });
  expect(await broker.tokens.flush(id)).toBe('superseded');
  expect((await storedSecrets(stack, user)).refresh!.payload).toMatchObject({ generation: 3, refresh_token: 'newer-refresh-token-gen3' });
  expect(await broker.storage.outbox.get(id)).toBeUndefined();
});
