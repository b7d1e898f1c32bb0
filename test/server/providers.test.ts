/**
 * One app, several providers (docs/services.md): two real OAuth providers (two dev providers, each
 * its own server and grants) and an API-key provider (the dev provider's API, with keys its users
 * make), side by side in one backend. Each connection is (user or account, mode, provider): its own
 * secrets, record, refresh, proxy and events; one ending leaves the others as they were.
 */
import type { ConnectionEvent } from '../../src/common/connection-event';
import { loadConfig } from '../../server/config';
import { PUBLIC_CLIENT_ID } from '../../server/local/oauth-provider/clients';
import { createStripeClient } from '../../server/stripe-client';
import { makeApiKey, refreshCount, startTestProvider, type TestProvider } from '../support/dev-provider';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TokenSealer } from '../../server/broker/token-sealing';
import { openSqliteStorage } from '../../server/storage/sqlite';
import { KEYS, newUser, ROTATED_SEALING_KEY, SEALING_KEY, SEALING_KEYS_TEXT, type User } from '../support/fixtures';
import { apiKeyProvider, oauthProvider, startBroker, type TestBroker } from '../support/in-process-broker';
import { checkForLeaksAfterEachTest, logLines, seenSecrets } from '../support/leak-check';
import { authorize, call, connect } from '../support/signed-calls';
import { type Stack, startStack, storedSecrets } from '../support/stack';

let stack: Stack;
let other: TestProvider;
let broker: TestBroker;
const events: ConnectionEvent[] = [];
const ADMIN_TOKEN = 'providers-suite-admin-token-Zr7q';

beforeAll(async () => {
  stack = await startStack();
  other = await startTestProvider(['--access-ttl', '61']);
  broker = await startBroker(stack, {
    providers: [
      await oauthProvider('dev', stack.provider.issuer),
      await oauthProvider('other', other.issuer),
      apiKeyProvider('notes', stack.provider.issuer),
    ],
    events: { onEvent: (event) => events.push(event) },
    adminToken: ADMIN_TOKEN,
  });
}, 60_000);
checkForLeaksAfterEachTest(() => logLines);
afterAll(async () => {
  await broker?.stop();
  await other?.stop();
  await stack?.close();
});

const authorizeAt = (provider: TestProvider) => authorize({ provider });
const proxy = (user: User, provider: string, path = '/me') => call(broker, '/api/proxy', user, { provider, method: 'GET', path });
const status = async (user: User, provider: string) => (await call(broker, '/api/connection/status', user, { provider })).body;
const eventsOf = (user: User | string, provider: string) =>
  events.filter((e) => e.data.provider === provider && e.data.user_id === (typeof user === 'string' ? null : user.user_id) && e.data.account_id === (typeof user === 'string' ? user : user.account_id)).map((e) => e.type);

const makeKey = () => makeApiKey(stack.provider);

test('two OAuth providers at once: each connects, refreshes and is used on its own; revoking one and disconnecting the other leave each as it was', async () => {
  const user = newUser('multi');
  expect((await connect(stack, broker, user)).status).toBe(400);
  const connected = [await call(broker, '/api/oauth/exchange', user, { provider: 'dev', ...(await authorizeAt(stack.provider)) }), await call(broker, '/api/oauth/exchange', user, { provider: 'other', ...(await authorizeAt(other)) })];
  expect(connected.map((answer) => answer.body.status)).toEqual(['connected', 'connected']);

  // Each provider's tokens in their own secrets, and each used at its own provider.
  const dev = await storedSecrets(stack, user, 'dev');
  const second = await storedSecrets(stack, user, 'other');
  expect([dev.access?.sealed, dev.refresh?.sealed, second.refresh?.sealed]).toEqual([false, true, true]);
  expect(dev.access!.payload.access_token).not.toBe(second.access!.payload.access_token);
  expect((await storedSecrets(stack, user)).access).toBeUndefined();
  const otherCalls = async () => Object.values(((await other.control('/dev/stats')) as { api?: Record<string, Record<string, number>> }).api?.['GET /api/me'] ?? {}).reduce((a, b) => a + b, 0);
  const before = await otherCalls();
  expect((await proxy(user, 'other')).body).toMatchObject({ status: 200, body: { sub: 'alice' } });
  expect((await proxy(user, 'dev')).body).toMatchObject({ status: 200, body: { sub: 'alice' } });
  expect(await otherCalls()).toBe(before + 1);

  // The other provider's grant revoked there: only its connection is lost, after one refresh there.
  await fetch(`${other.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: second.refresh!.payload.refresh_token, client_id: PUBLIC_CLIENT_ID }),
  });
  const refreshesAtDev = await refreshCount(stack);
  expect((await proxy(user, 'other')).body.error?.code).toBe('reconnect_required');
  expect(await refreshCount(stack)).toBe(refreshesAtDev);
  expect([(await status(user, 'other')).status, (await status(user, 'dev')).status]).toEqual(['reconnect_required', 'connected']);
  expect((await proxy(user, 'dev')).body.status).toBe(200);

  // The admin API (and so the CLI) names each provider's connection.
  const admin = async (path: string) => (await fetch(`${broker.url}/admin${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
  const keys = ((await admin(`/connections?account=${user.account_id}`)) as { connections: Array<{ connection: string }> }).connections.map((c) => c.connection);
  expect(keys).toEqual(expect.arrayContaining([`test/${user.account_id}/${user.user_id}/dev`, `test/${user.account_id}/${user.user_id}/other`]));
  const others = ((await admin('/connections?provider=other')) as { connections: Array<{ connection: string; provider: string }> }).connections;
  expect(others.map((c) => c.provider)).toEqual(others.map(() => 'other'));
  expect(others.map((c) => c.connection)).toContain(`test/${user.account_id}/${user.user_id}/other`);
  expect(await admin(`/connections/test/${user.account_id}/${user.user_id}/other`)).toMatchObject({ connection: `test/${user.account_id}/${user.user_id}/other`, live: { status: 'reconnect_required' } });

  // Disconnecting dev removes its secrets only; the other's record and events are its own.
  expect((await call(broker, '/api/oauth/disconnect', user, { provider: 'dev' })).body.status).toBe('not_connected');
  expect((await storedSecrets(stack, user, 'dev')).refresh).toBeUndefined();
  expect([(await status(user, 'dev')).status, (await status(user, 'other')).status]).toEqual(['not_connected', 'reconnect_required']);
  expect(eventsOf(user, 'dev')).toEqual(['connection.connected', 'connection.disconnected']);
  expect(eventsOf(user, 'other')).toEqual(['connection.connected', 'connection.reconnect_required']);
});

test('with several providers a signed request must name one: 400 naming the choices; an unknown one is refused the same way', async () => {
  const user = newUser('multi');
  for (const extra of [{}, { provider: 'nope' }, { provider: '' }]) {
    const answer = await call(broker, '/api/connection/status', user, extra);
    expect([answer.status, answer.body.error?.code, answer.body.error?.message]).toEqual([400, 'invalid_request', 'provider must be one of dev, other, notes.']);
  }
});

test('an API key: verified and saved for the account (sealed, in its scope), used by every user of the account, refused when revoked, removed on disconnect; never answered back', async () => {
  const [user, colleague] = [newUser('keys'), newUser('keys')];
  const key = await makeKey();
  const bad = `${key.slice(0, -4)}xxxx`;
  seenSecrets.add(bad);

  const refused = await call(broker, '/api/credentials', user, { provider: 'notes', api_key: bad });
  expect([refused.status, refused.body.error?.code]).toEqual([400, 'invalid_api_key']);
  expect((await status(user, 'notes')).status).toBe('not_connected');

  const saved = await call(broker, '/api/credentials', user, { provider: 'notes', api_key: key });
  expect(saved.body).toMatchObject({ status: 'connected', reason: null });
  const stripe = createStripeClient(KEYS.test, { apiBase: stack.emulatorUrl, maxNetworkRetries: 0 });
  const secret = await stripe.apps.secrets.find({ name: 'apikey.notes', scope: { type: 'account' }, expand: ['payload'] }, { stripeAccount: user.account_id });
  expect(secret.payload).not.toContain(key);

  // Every user of the account uses it, and the key is in no answer.
  const answers = [await proxy(user, 'notes'), await proxy(colleague, 'notes'), saved, await call(broker, '/api/connection/status', colleague, { provider: 'notes' })];
  expect(answers.slice(0, 2).map((a) => a.body)).toEqual([expect.objectContaining({ status: 200, body: expect.objectContaining({ sub: 'alice' }) }), expect.objectContaining({ status: 200 })]);
  for (const answer of answers) expect(JSON.stringify(answer.body)).not.toContain(key);
  // A key is not a token: /api/token and the OAuth routes refuse it.
  expect((await call(broker, '/api/token', user, { provider: 'notes' })).status).toBe(400);

  // Revoked at the provider: the 401 comes back as it is, once; then reconnect_required, with its reason and event.
  await fetch(`${stack.provider.issuer}/api/keys`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } });
  expect((await proxy(colleague, 'notes')).body.status).toBe(401);
  expect(await status(user, 'notes')).toMatchObject({ status: 'reconnect_required', reason: 'api_key_rejected' });
  expect((await proxy(user, 'notes')).body.error?.code).toBe('reconnect_required');
  expect(eventsOf(user.account_id, 'notes')).toEqual(['connection.connected', 'connection.reconnect_required']);

  // A new key replaces it; disconnect removes it.
  const next = await makeKey();
  expect((await call(broker, '/api/credentials', colleague, { provider: 'notes', api_key: next })).body.status).toBe('connected');
  expect((await proxy(user, 'notes')).body.status).toBe(200);
  expect((await call(broker, '/api/oauth/disconnect', user, { provider: 'notes' })).body.status).toBe('not_connected');
  await expect(stripe.apps.secrets.find({ name: 'apikey.notes', scope: { type: 'account' } }, { stripeAccount: user.account_id })).rejects.toMatchObject({ statusCode: 404 });
  expect((await proxy(user, 'notes')).body.error?.code).toBe('not_connected');
});

test('a sealing-key rotation: an API key sealed with a key this instance lacks is 503, never lost; re-sealed, the old key can go', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'provider-keys-'));
  const providers = [apiKeyProvider('notes', stack.provider.issuer)];
  const instance = (...keys: Array<typeof SEALING_KEY>) => startBroker(stack, { providers, sealer: new TokenSealer(keys), storage: openSqliteStorage(path.join(dir, 'registry.sqlite')) });
  const user = newUser('rotation', { account_id: 'acct_rotation' });
  const connection = { accountId: user.account_id, userId: null, mode: 'test' as const, provider: 'notes' };
  const proxyAt = async (b: TestBroker) => (await call(b, '/api/proxy', user, { provider: 'notes', method: 'GET', path: '/me' })).body;
  try {
    const old = await instance(SEALING_KEY);
    expect((await call(old, '/api/credentials', user, { provider: 'notes', api_key: await makeKey() })).body.status).toBe('connected');
    await old.stop();
    const rotatedOnly = await instance(ROTATED_SEALING_KEY);
    expect((await proxyAt(rotatedOnly)).error?.code).toBe('sealing_key_missing');
    await rotatedOnly.stop();
    const both = await instance(ROTATED_SEALING_KEY, SEALING_KEY);
    expect([await both.lifecycle.reseal(connection), (await both.storage.records.get(connection))?.sealedWith]).toEqual(['resealed', ROTATED_SEALING_KEY.id]);
    await both.stop();
    const after = await instance(ROTATED_SEALING_KEY);
    expect(await proxyAt(after)).toMatchObject({ status: 200, body: { sub: 'alice' } });
    await after.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('the Secret Store plan', () => {
  const base = {
    STRIPE_SECRET_KEY: 'sk_test_abc',
    STRIPE_APP_SIGNING_SECRET: 'absec_Kq3ZtV8mWb2xRn5LpY7cJd4H',
    STRIPE_APP_ID: 'com.example.oauth-broker',
    TOKEN_SEALING_KEYS: SEALING_KEYS_TEXT,
  };
  const oauth = (names: string[]) => Object.fromEntries(names.flatMap((n) => [[`OAUTH_${n.toUpperCase()}_ISSUER`, `https://${n}.provider.test`], [`OAUTH_${n.toUpperCase()}_CLIENT_ID`, 'client']]));

  test('four OAuth providers fit a user scope (9 of 10 secrets); five are refused at start-up, naming the count', () => {
    const four = ['a', 'b', 'c', 'd'];
    expect(loadConfig({ ...base, OAUTH_PROVIDERS: four.join(','), ...oauth(four) }).providers.map((p) => p.name)).toEqual(four);
    const five = [...four, 'e'];
    expect(() => loadConfig({ ...base, OAUTH_PROVIDERS: five.join(','), ...oauth(five) })).toThrow("OAUTH_PROVIDERS: 5 OAuth providers need 11 secrets in each user's Secret Store scope (two each, and the sign-in state); a scope holds 10");
  });

  test('in account scope the tokens and the API keys share the account scope', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const keys = { OAUTH_K_KIND: 'api_key', OAUTH_K_API_BASE_URL: 'https://k.provider.test', OAUTH_K_VERIFY_PATH: '/me' };
    expect(() => loadConfig({ ...base, CONNECTION_SCOPE: 'account', OAUTH_PROVIDERS: [...names, 'k'].join(','), ...oauth(names), ...keys })).toThrow(
      "OAUTH_PROVIDERS: these providers need 11 secrets in each account's Secret Store scope (two per OAuth provider, one per API key); a scope holds 10",
    );
  });

  test('the plain OAUTH_* variables beside OAUTH_PROVIDERS are refused, naming the per-provider ones', () => {
    expect(() => loadConfig({ ...base, OAUTH_PROVIDERS: 'a', ...oauth(['a']), OAUTH_CLIENT_ID: 'x' })).toThrow('OAUTH_CLIENT_ID is set, but OAUTH_PROVIDERS names the providers: set OAUTH_<NAME>_CLIENT_ID for each');
  });
});
