/**
 * Within Stripe's rate limit: the Secret Store behind a proxy that answers 429 beyond R requests
 * a second (test/support/rate-limited-store.ts). A burst of due connections under a small budget
 * ends with every connection refreshed once and none lost, three requests per refresh; a budget
 * above the store's limit is cut by its 429s, and the status says the store throttles; a token
 * that is due but still valid is served at once while the budget is spent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStorage } from '../../server/storage/sqlite';
import { createStripeClient } from '../../server/stripe-client';
import { expectAllAlive } from '../support/alive';
import { refreshCount } from '../support/dev-provider';
import { eventually, KEYS, newUser, sleep, type User } from '../support/fixtures';
import { type BrokerOverrides, startBroker, type TestBroker } from '../support/in-process-broker';
import { type RateLimitedStore, startRateLimitedStore } from '../support/rate-limited-store';
import { type ApiAnswer, call, connectAll } from '../support/signed-calls';
import { type Stack, stackSuite } from '../support/stack';

let stack: Stack;
let dir: string;
let store: RateLimitedStore;
const brokers: TestBroker[] = [];

stackSuite(['--access-ttl', '600'], (started) => (stack = started));
beforeEach(() => {
  stack.clock.offset = 0;
  dir = mkdtempSync(path.join(os.tmpdir(), 'broker-budget-'));
});
afterEach(async () => {
  for (const broker of brokers.splice(0)) await broker.stop();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const registry = () => openSqliteStorage(path.join(dir, 'registry.sqlite'));

/** `count` connections made with the store unlimited, then a backend on the same registry behind the rate limit. */
async function connectedBehindLimit(count: number, storePerSecond: number, budgetPerSecond: number, overrides: BrokerOverrides = {}): Promise<{ users: User[]; broker: TestBroker }> {
  const setup = await startBroker(stack, { storage: registry() });
  const users = Array.from({ length: count }, () => newUser('budget'));
  await connectAll(stack, setup, users);
  await setup.stop();
  store = await startRateLimitedStore(stack.emulatorUrl, storePerSecond);
  const broker = await startBroker(stack, {
    storage: registry(),
    stripe: { test: createStripeClient(KEYS.test, { apiBase: store.url }) },
    secretStoreRequestsPerSecond: { test: budgetPerSecond },
    ...overrides,
  });
  brokers.push(broker);
  return { users, broker };
}

/**
 * Whether the broker wrote every committed refresh to the Secret Store. The final check spends
 * the stored refresh token: checking one that a pending write replaces would spend an old one.
 */
const written = (broker: TestBroker) => async () => (await broker.storage.outbox.connections()).length === 0;

/** A route (by default /api/token) until it answers other than 503, waiting as each 503's Retry-After says. */
async function tokenFor(broker: TestBroker, user: User, route = '/api/token'): Promise<ApiAnswer> {
  for (;;) {
    const answer = await call(broker, route, user);
    if (answer.status !== 503) return answer;
    await sleep(Number(answer.headers.get('retry-after') ?? 1) * 1000);
  }
}

test('40 connections due at once, a budget of 48/s before a store limit of 60/s: each refreshed once with three requests, no 429, none lost', async () => {
  const { users, broker } = await connectedBehindLimit(40, 60, 48);
  const before = await refreshCount(stack);
  stack.clock.offset += 601;
  const answers = await Promise.all(users.map((user) => tokenFor(broker, user)));
  expect(answers.map((a) => a.status)).toEqual(users.map(() => 200));
  expect(await refreshCount(stack)).toBe(before + 40);
  // Callers may have had their tokens once committed; the writes go on within the budget.
  expect(await eventually(written(broker), 30_000)).toBe(true);
  // The registry knew each was due, so no read before the lock: one read under it and two writes.
  expect(store.routes).toEqual({ 'GET /v1/apps/secrets/find': 40, 'POST /v1/apps/secrets': 80 });
  expect(store.refused).toBe(0);
  await expectAllAlive(stack, users);
}, 60_000);

test('a budget above the store limit: its 429s halve the rate, the status says the store throttles, and every connection is refreshed', async () => {
  const { users, broker } = await connectedBehindLimit(20, 24, 160);
  stack.clock.offset += 601;
  const answers = await Promise.all(users.map((user) => tokenFor(broker, user)));
  expect(answers.map((a) => a.status)).toEqual(users.map(() => 200));
  expect(store.refused).toBeGreaterThan(0);
  expect(broker.budget.rate('test')).toBeLessThan(160);
  // 40 writes at 24/s, behind the 429s' back-off; then the status still says the store throttles,
  // for 30 s after the last 429 (a status read that meets a 429 itself is told to wait, 503 secret_store_busy).
  expect(await eventually(written(broker), 40_000)).toBe(true);
  const status = await tokenFor(broker, users[0], '/api/connection/status');
  expect(status.body).toMatchObject({ status: 'connected', degraded: true, reason: 'secret_store_throttled' });
  await expectAllAlive(stack, users);
}, 60_000);

test('keep-alive has no quota per tick: 45 idle connections overdue are all refreshed, once each, as fast as the budget allows', async () => {
  // Made with the default idle time (a day); this backend's hour is a new policy, so their due times are computed again.
  const { users, broker } = await connectedBehindLimit(45, 80, 60, { background: { keepAliveIdleSeconds: 3600, keepAliveIntervalMs: 500 } });
  const before = await refreshCount(stack);
  stack.clock.offset += 4000;
  // 135 requests at 60/s: under three seconds (20 a tick every 60 s would take two minutes).
  expect(await eventually(async () => (await refreshCount(stack)) === before + 45, 20_000)).toBe(true);
  // Nothing is refreshed twice: once each is done, every one is due again only in an hour.
  const ours = async () => (await broker.storage.records.list({ accountId: users[0].account_id, limit: 1000 })).filter((r) => users.some((u) => u.user_id === r.userId));
  expect(await eventually(async () => (await ours()).every((r) => r.keepAliveAt! > stack.now() + 3000), 20_000)).toBe(true);
  expect(await refreshCount(stack)).toBe(before + 45);
  expect(store.refused).toBe(0);
  const due = (await ours()).map((r) => r.keepAliveAt! - r.lastRefreshAt!);
  // Due again after the idle time, less a spread of up to a tenth of it, so they do not all come due together.
  expect(Math.min(...due)).toBeGreaterThanOrEqual(3240);
  expect(Math.max(...due)).toBeLessThanOrEqual(3600);
  expect(new Set(due).size).toBeGreaterThan(20);
  await expectAllAlive(stack, users, written(broker));
}, 60_000);

test('while the budget is spent, a due token with time left is served at once, and refreshed when its turn comes', async () => {
  const { users, broker } = await connectedBehindLimit(9, 24, 16);
  const [watched, ...others] = users;
  const first = await call(broker, '/api/token', watched);
  expect(first.status).toBe(200);
  // Due (past even a jittered refresh margin) with 200 s left; the others' refreshes fill the budget first.
  stack.clock.offset += 400;
  const crowd = others.map((user) => tokenFor(broker, user));
  expect(await eventually(() => broker.budget.isBusy('test'))).toBe(true);
  const served = await call(broker, '/api/token', watched);
  expect([served.status, served.body.access_token]).toEqual([200, first.body.access_token]);
  await Promise.all(crowd);
  // Its refresh went on in the background: a new token, with no caller having waited for it.
  expect(await eventually(async () => (await call(broker, '/api/token', watched)).body.access_token !== first.body.access_token, 20_000)).toBe(true);
  await expectAllAlive(stack, users, written(broker));
}, 60_000);
