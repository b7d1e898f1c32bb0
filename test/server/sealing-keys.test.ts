/**
 * A key this instance lacks is never a loss: a refresh secret (or an outbox entry) sealed with a
 * key id that is not in the instance's sealing keys — a rotation rolled out to some instances
 * only — is answered 503 `sealing_key_missing` with nothing removed, changed or sent, and works
 * again once the key is back. An altered one (a known key, its tag changed) is still never
 * redeemed and the connection is lost, as before. In-process backends, one after another on one
 * registry, over the real Secret Store emulator and dev provider.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectionKey, fromWire } from '../../src/common/connection-id';
import { SECRET_NAMES } from '../../src/common/token-layout';
import { TokenSealer } from '../../server/broker/token-sealing';
import { openSqliteStorage } from '../../server/storage/sqlite';
import { createStripeClient } from '../../server/stripe-client';
import { expectAllAlive } from '../support/alive';
import { refreshCount } from '../support/dev-provider';
import { KEYS, newUser, ROTATED_KEY_TEXT, ROTATED_SEALING_KEY, SEALING_KEY, SEALING_KEYS_TEXT, type User } from '../support/fixtures';
import { startBroker, type TestBroker } from '../support/in-process-broker';
import { logLines } from '../support/leak-check';
import { call, connectAll } from '../support/signed-calls';
import { type Stack, stackSuite, storedSecrets } from '../support/stack';

let stack: Stack;
let dir: string;
const brokers: TestBroker[] = [];

stackSuite(['--access-ttl', '3'], (started) => (stack = started));
beforeEach(() => {
  stack.emulator.faults.clear();
  dir = mkdtempSync(path.join(os.tmpdir(), 'broker-keys-'));
});
afterEach(async () => {
  stack.emulator.faults.clear();
  for (const broker of brokers.splice(0)) await broker.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A backend on the test's registry holding these sealing keys (the first seals). */
async function instance(...keys: Array<typeof SEALING_KEY>): Promise<TestBroker> {
  const broker = await startBroker(stack, { sealer: new TokenSealer(keys), storage: openSqliteStorage(path.join(dir, 'registry.sqlite')) });
  brokers.push(broker);
  return broker;
}

async function stopped(broker: TestBroker): Promise<void> {
  brokers.splice(brokers.indexOf(broker), 1);
  await broker.stop();
}

const connectionOf = (user: User) => fromWire(user);
const missingCount = async (broker: TestBroker) => (await broker.metrics.sealingKeyMissing.get()).values[0]?.value ?? 0;
const errorLinesNaming = (lines: string[], keyId: string) => lines.filter((line) => line.includes('"level":50') && line.includes(`"missingKey":"${keyId}"`));
const keyMaterial = [SEALING_KEYS_TEXT, ROTATED_KEY_TEXT].map((text) => text.slice(text.indexOf(':') + 1));

test('sealed with a key this instance lacks: 503 sealing_key_missing, degraded, nothing removed, changed or sent; with the key back the same connections work', async () => {
  const users = [newUser('keys'), newUser('keys'), newUser('keys')];
  // An instance a rotation has reached seals with suite2 ...
  const rotated = await instance(ROTATED_SEALING_KEY, SEALING_KEY);
  await connectAll(stack, rotated, users);
  await stopped(rotated);
  // ... and one it has not reached holds suite1 only.
  const logsFrom = logLines.length;
  const behind = await instance(SEALING_KEY);
  const before = await Promise.all(users.map((user) => storedSecrets(stack, user)));
  for (const stored of before) expect(TokenSealer.keyIdOf(stored.refresh!.raw)).toBe('suite2');
  const records = await Promise.all(users.map((user) => behind.storage.records.get(connectionOf(user))));
  const refreshes = await refreshCount(stack);

  stack.clock.offset += 4; // past the 3 s tokens' expiry
  for (const user of users) {
    const token = await call(behind, '/api/token', user);
    expect([token.status, token.body.error?.code]).toEqual([503, 'sealing_key_missing']);
    const status = await call(behind, '/api/connection/status', user);
    expect([status.status, status.body]).toEqual([200, expect.objectContaining({ status: 'connected', degraded: true, reason: 'sealing_key_missing' })]);
  }
  expect(await refreshCount(stack)).toBe(refreshes);
  const after = await Promise.all(users.map((user) => storedSecrets(stack, user)));
  expect(after.map((s) => s.refresh?.raw)).toEqual(before.map((s) => s.refresh!.raw));
  // The access secret too, where the emulator still holds it (it drops one that has expired).
  for (const [i, s] of after.entries()) if (s.access) expect(s.access.raw).toBe(before[i].access?.raw);
  expect(await Promise.all(users.map((user) => behind.storage.records.get(connectionOf(user))))).toEqual(records);
  expect(await missingCount(behind)).toBeGreaterThanOrEqual(users.length * 2);
  const lines = logLines.slice(logsFrom);
  // Once for the key, whichever connection met it first; never a connection lost.
  expect(errorLinesNaming(lines, 'suite2')).toHaveLength(1);
  expect(errorLinesNaming(lines, 'suite2')[0]).toMatch(new RegExp(`"connection":"(${users.map((u) => connectionKey(connectionOf(u))).join('|')})"`));
  expect(lines.filter((line) => line.includes('connection lost'))).toEqual([]);
  expect(lines.filter((line) => keyMaterial.some((key) => line.includes(key)))).toEqual([]);
  await stopped(behind);

  // The key put back (second: it opens, suite1 still seals): the same connections refresh and work.
  const restored = await instance(SEALING_KEY, ROTATED_SEALING_KEY);
  for (const user of users) {
    expect((await call(restored, '/api/token', user)).status).toBe(200);
    expect((await call(restored, '/api/connection/status', user)).body).toMatchObject({ status: 'connected', degraded: false, reason: null });
  }
  expect(await refreshCount(stack)).toBe(refreshes + users.length);
  expect(await missingCount(restored)).toBe(0);
  await expectAllAlive(stack, users);
});

test('an outbox entry sealed with a key this instance lacks: 503 sealing_key_missing, kept for an instance that holds the key', async () => {
  const user = newUser('keys');
  // The exchange's tokens reach the outbox (sealed with suite2) but not the Secret Store.
  const rotated = await instance(ROTATED_SEALING_KEY, SEALING_KEY);
  stack.emulator.faults.inject({ kind: 'http500', count: 1_000_000, route: 'POST /v1/apps/secrets' });
  await connectAll(stack, rotated, [user]);
  await stopped(rotated);
  stack.emulator.faults.clear();

  const behind = await instance(SEALING_KEY);
  const refreshes = await refreshCount(stack);
  expect((await storedSecrets(stack, user)).refresh).toBeUndefined();
  const token = await call(behind, '/api/token', user);
  expect([token.status, token.body.error?.code]).toEqual([503, 'sealing_key_missing']);
  expect((await call(behind, '/api/connection/status', user)).body).toMatchObject({ status: 'connected', degraded: true, reason: 'sealing_key_missing' });
  expect((await behind.storage.outbox.connections()).map(connectionKey)).toEqual([connectionKey(connectionOf(user))]);
  expect(await refreshCount(stack)).toBe(refreshes);
  await stopped(behind);

  const restored = await instance(SEALING_KEY, ROTATED_SEALING_KEY);
  expect((await call(restored, '/api/token', user)).status).toBe(200);
  await expectAllAlive(stack, [user], async () => (await restored.storage.outbox.connections()).length === 0);
});

test('an altered refresh secret (a key this instance holds, its tag changed) is still never redeemed: reconnect_required, its secrets removed', async () => {
  const user = newUser('keys');
  const broker = await instance(SEALING_KEY);
  await connectAll(stack, broker, [user]);
  stack.clock.offset += 4; // past the 3 s token's expiry
  const { raw } = (await storedSecrets(stack, user)).refresh!;
  const parts = raw.split('.');
  const tag = Buffer.from(parts[parts.length - 1], 'base64url');
  tag[0] ^= 1;
  parts[parts.length - 1] = tag.toString('base64url');
  // Written into the user's own scope, as the extension (and so the user) can.
  await createStripeClient(KEYS.test, { apiBase: stack.emulatorUrl, maxNetworkRetries: 0 }).apps.secrets.create(
    { name: SECRET_NAMES.refresh, payload: parts.join('.'), scope: { type: 'user', user: user.user_id } },
    { stripeAccount: user.account_id },
  );
  const refreshes = await refreshCount(stack);

  const token = await call(broker, '/api/token', user);
  expect([token.status, token.body.error?.code]).toEqual([409, 'reconnect_required']);
  expect((await call(broker, '/api/connection/status', user)).body).toMatchObject({ status: 'reconnect_required', reason: 'unusable_refresh_secret' });
  expect(await storedSecrets(stack, user)).toEqual({ access: undefined, refresh: undefined });
  expect(await refreshCount(stack)).toBe(refreshes);
  expect(await missingCount(broker)).toBe(0);
});
