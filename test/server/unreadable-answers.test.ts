/**
 * A 200 from the token endpoint that is no token response (HTML, JSON without `access_token`, a
 * body cut mid-way, one over the size bound) comes after the provider processed the grant — with
 * rotation, the refresh token is spent. So it is a lost answer, not a refusal: the connection is
 * degraded with its outcome unknown, and the loss that follows is `lost_after_unknown_outcome`.
 * A real OAuth error (`invalid_client`) stays a refusal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionId } from '../../src/common/connection-id';
import { CONFIDENTIAL_CLIENT_ID } from '../../server/local/oauth-provider/clients';
import { UNREADABLE_ANSWERS } from '../../server/local/oauth-provider/test-controls';
import { openSqliteStorage } from '../../server/storage/sqlite';
import { providerStats, refreshCount } from '../support/dev-provider';
import { call, connect } from '../support/signed-calls';
import { newUser, type User } from '../support/fixtures';
import { type BrokerOverrides, startBroker, type TestBroker } from '../support/in-process-broker';
import { logLines } from '../support/leak-check';
import { type Stack, stackSuite, storedSecrets } from '../support/stack';

let stack: Stack;
let dir: string;
const brokers: TestBroker[] = [];

stackSuite(undefined, (started) => (stack = started));
beforeEach(async () => {
  await stack.provider.control('/dev/reset', {});
  await stack.provider.control('/dev/settings', { rotateRefreshTokens: true });
  stack.clock.offset = 0;
  dir = mkdtempSync(path.join(os.tmpdir(), 'broker-unreadable-'));
});
afterEach(async () => {
  for (const broker of brokers.splice(0)) await broker.stop();
  rmSync(dir, { recursive: true, force: true });
});

const idOf = (u: User): ConnectionId => ({ accountId: u.account_id, userId: u.user_id, mode: u.mode });
const registry = () => openSqliteStorage(path.join(dir, 'registry.sqlite'));

/** A backend on the test's registry file, stopped after the test. */
async function brokerOn(overrides: BrokerOverrides = {}): Promise<TestBroker> {
  const broker = await startBroker(stack, { storage: registry(), ...overrides });
  brokers.push(broker);
  return broker;
}

/** A user connected through `broker` whose access token has just expired (60 s tokens). */
async function expiredConnection(broker: TestBroker): Promise<User> {
  const user = newUser('unreadable');
  expect((await connect(stack, broker, user)).status).toBe(200);
  stack.clock.offset += 61;
  return user;
}

/** The backend's `connection lost` line for `user`, parsed. */
const lossLine = (user: User) => {
  const line = logLines.find((l) => l.includes('"connection lost"') && l.includes(user.user_id));
  return line && (JSON.parse(line) as { level: number; reason: string });
};

test.each(UNREADABLE_ANSWERS)('a refresh answered 200 with %s after the provider rotated: degraded with the outcome unknown, tokens kept, and the next invalid_grant is lost_after_unknown_outcome at error level', async (kind) => {
  const broker = await brokerOn();
  const user = await expiredConnection(broker);
  const before = await storedSecrets(stack, user);
  const rotated = (await refreshCount(stack)) + 1;
  await stack.provider.control('/dev/faults', { kind });
  const unreadable = await call(broker, '/api/token', user);
  // Answered as a lost answer is: 503, the tokens kept, the intent left standing.
  expect([unreadable.status, unreadable.body.error?.code]).toEqual([503, 'provider_unavailable']);
  expect(await refreshCount(stack)).toBe(rotated);
  expect(await storedSecrets(stack, user)).toEqual(before);
  expect((await call(broker, '/api/connection/status', user)).body).toMatchObject({ status: 'connected', degraded: true });
  expect(await broker.storage.records.get(idOf(user))).toMatchObject({ status: 'connected', outcomeUnknownAt: expect.any(Number) });
  // The stored refresh token was spent by that rotation: the provider refuses it, and the loss says why.
  const lost = await call(broker, '/api/token', user);
  expect(lost.body.error?.code).toBe('reconnect_required');
  expect((await providerStats(stack)).token.refresh_token?.['400']).toBe(1);
  expect((await call(broker, '/api/connection/status', user)).body).toMatchObject({ status: 'reconnect_required', reason: 'lost_after_unknown_outcome' });
  expect(lossLine(user)).toMatchObject({ level: 50, reason: 'lost_after_unknown_outcome' });
});

test.each(UNREADABLE_ANSWERS)('a code exchange answered 200 with %s is a 503 that says the code is spent, not a refusal; nothing is stored', async (kind) => {
  const broker = await brokerOn();
  const user = newUser('unreadable');
  await stack.provider.control('/dev/faults', { kind });
  const answer = await connect(stack, broker, user);
  expect([answer.status, answer.body.error?.code]).toEqual([503, 'provider_unavailable']);
  expect(answer.body.error?.message).toMatch(/code is spent; connect again/);
  expect((await providerStats(stack)).token.authorization_code?.['200']).toBe(1);
  expect(await storedSecrets(stack, user)).toEqual({ access: undefined, refresh: undefined });
  expect((await call(broker, '/api/connection/status', user)).body.status).toBe('not_connected');
});

test("a real invalid_client from the provider stays a refusal: 502 provider_rejected, not degraded, no unknown outcome; a later invalid_grant is plain invalid_grant", async () => {
  const user = await expiredConnection(await brokerOn());
  await brokers.pop()!.stop();
  const before = await storedSecrets(stack, user);
  // The same registry, with a client the provider does not accept: its client authentication fails.
  const misconfigured = await brokerOn({ provider: { clientId: CONFIDENTIAL_CLIENT_ID, clientSecret: 'not-the-client-secret' } });
  const refused = await call(misconfigured, '/api/token', user);
  expect([refused.status, refused.body.error?.code]).toEqual([502, 'provider_rejected']);
  expect((await providerStats(stack)).token.refresh_token).toEqual({ 401: 1 });
  expect(await storedSecrets(stack, user)).toEqual(before);
  expect((await call(misconfigured, '/api/connection/status', user)).body).toMatchObject({ status: 'connected', degraded: false });
  expect(await misconfigured.storage.records.get(idOf(user))).toMatchObject({ outcomeUnknownAt: null });
  await brokers.pop()!.stop();
  // The refused request spent nothing, so an invalid_grant now is the provider's word, not a lost answer.
  const broker = await brokerOn();
  await stack.provider.control('/dev/faults', { kind: 'invalid_grant' });
  expect((await call(broker, '/api/token', user)).body.error?.code).toBe('reconnect_required');
  expect((await call(broker, '/api/connection/status', user)).body).toMatchObject({ status: 'reconnect_required', reason: 'invalid_grant' });
  expect(lossLine(user)).toMatchObject({ level: 30, reason: 'invalid_grant' });
});

test('an error answer too large to read is not read: retried, then 503 provider_unavailable, tokens kept, degraded with nothing unknown; the next refresh works', async () => {
  const broker = await brokerOn();
  const user = await expiredConnection(broker);
  const before = await storedSecrets(stack, user);
  // Nothing was issued by it, so it is retried like a 503: every attempt meets it.
  await stack.provider.control('/dev/faults', { kind: 'oversized_error', count: 3 });
  const refused = await call(broker, '/api/token', user);
  expect([refused.status, refused.body.error?.code]).toEqual([503, 'provider_unavailable']);
  expect(await storedSecrets(stack, user)).toEqual(before);
  expect((await call(broker, '/api/connection/status', user)).body).toMatchObject({ status: 'connected', degraded: true });
  expect(await broker.storage.records.get(idOf(user))).toMatchObject({ outcomeUnknownAt: null });
  expect(logLines.some((line) => line.includes(`answer larger than ${64 * 1024} bytes (HTTP 400)`))).toBe(true);
  expect((await call(broker, '/api/token', user)).status).toBe(200);
});
