/**
 * "Never lose a connection" under outages, through the real parts: rotation on, short
 * lifetimes, the Secret Store failing writes for seconds at a time, a provider that answers
 * after the caller gave up, idle connections kept alive. A connection is lost when its stored
 * refresh token is no longer accepted by the provider (with rotation, a spent token sent again
 * revokes the whole grant).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionId } from '../../src/common/connection-id';
import { openSqliteStorage } from '../../server/storage/sqlite';
import { eventually, newUser, sleep, User } from '../support/fixtures';
import { startBroker, TestBroker } from '../support/in-process-broker';
import { call, connect, connectAll } from '../support/signed-calls';
import { Stack, stackSuite, storedSecrets } from '../support/stack';
import { expectAllAlive } from '../support/alive';
import { refreshCount } from '../support/dev-provider';
import { logLines } from '../support/leak-check';
import { expectOnly, type Outcomes, tally } from '../support/soak';

let stack: Stack;
const idOf = (u: User): ConnectionId => ({ accountId: u.account_id, userId: u.user_id, mode: u.mode });

// 3 s tokens (shorter ones leave less than the broker's whole-second clock can keep apart from expiry).
stackSuite(['--access-ttl', '3'], (started) => (stack = started));

/** Every user's stored refresh token is the live one, once the outbox is empty. */
const expectAllAliveOn = (broker: TestBroker, all: User[]) => expectAllAlive(stack, all, async () => (await broker.storage.outbox.connections()).length === 0);

test('Secret Store writes down 2 s of every 4.5 s during continuous refresh cycles (3 s tokens, due every 1.5 s): 0 connections lost', async () => {
  // Outages longer than a refresh cycle, so writes fail for whole cycles.
  const broker = await startBroker(stack);
  const all = Array.from({ length: 8 }, () => newUser('outage'));
  try {
    await connectAll(stack, broker, all);
    const refreshesBefore = await refreshCount(stack);
    const outcomes: Outcomes = {};
    // Two outages, 4.5 s apart; the callers go on until the second ends.
    const deadline = Date.now() + 6_500;
    const outages = (async () => {
      for (let outage = 0; outage < 2; outage++) {
        if (outage > 0) await sleep(2500);
        stack.emulator.faults.inject({ kind: 'http500', count: 1_000_000, route: 'POST /v1/apps/secrets' });
        await sleep(2000);
        stack.emulator.faults.clear();
      }
    })();
    const callers = all.flatMap((user) => [0, 1].map(async () => {
      while (Date.now() < deadline) {
        tally(outcomes, await call(broker, '/api/token', user));
        await sleep(150 + Math.random() * 100);
      }
    }));
    await Promise.all([outages, ...callers]);
    stack.emulator.faults.clear();
    // Nobody was told to reconnect (a caller waits out a write outage at most: tokens are served from
    // the outbox), every stored refresh token is alive, and many refreshes happened.
    expectOnly(outcomes, ['refresh_pending', 'secret_store_unavailable'], () => logLines);
    for (const user of all) expect((await call(broker, '/api/connection/status', user)).body.status).toBe('connected');
    await expectAllAliveOn(broker, all);
    expect(await refreshCount(stack)).toBeGreaterThan(refreshesBefore + all.length * 2);
  } finally {
    await broker.stop();
  }
});

test('a provider that answers after the caller gave up: the caller gets 503, the refresh completes and is stored', async () => {
  const broker = await startBroker(stack, { provider: { timeoutSeconds: 10 }, refresh: { marginSeconds: 300, defaultAccessLifetimeSeconds: 3600, callerWaitMs: 500 } });
  const user = newUser('outage');
  try {
    await connect(stack, broker, user);
    const before = await storedSecrets(stack, user);
    const refreshes = await refreshCount(stack);
    // The provider refreshes, and holds its answer until the caller has given up.
    await stack.provider.control('/dev/faults', { kind: 'held', delayMs: 8000 });
    stack.clock.offset += 5; // the access token expired
    const gaveUp = await call(broker, '/api/token', user);
    expect(gaveUp.status).toBe(503);
    expect(gaveUp.body.error!.code).toBe('refresh_pending');
    await stack.provider.control('/dev/release', {});
    for (let i = 0; i < 100 && (await storedSecrets(stack, user)).refresh?.payload.generation !== 2; i++) await sleep(50);
    const after = await storedSecrets(stack, user);
    expect(after.refresh!.payload.generation).toBe(2);
    expect(after.refresh!.payload.refresh_token).not.toBe(before.refresh!.payload.refresh_token);
    const served = await call(broker, '/api/token', user);
    expect(served.status).toBe(200);
    expect(served.body.access_token).toBe(after.access!.payload.access_token);
    expect(await refreshCount(stack)).toBe(refreshes + 1);
    await expectAllAliveOn(broker, [user]);
  } finally {
    stack.clock.offset = 0;
    await broker.stop();
  }
});

test('keep-alive refreshes an idle connection in the background; failures leave it connected but degraded', async () => {
  const broker = await startBroker(stack, { background: { keepAliveIntervalMs: 100, keepAliveIdleSeconds: 60 } });
  const user = newUser('outage');
  try {
    await connect(stack, broker, user);
    await stack.provider.control('/dev/faults', { kind: 'http503', count: 6 });
    stack.clock.offset += 120; // idle for two minutes
    for (let i = 0; i < 100 && !(await broker.storage.records.get(idOf(user)))?.failures; i++) await sleep(50);
    const degraded = await call(broker, '/api/connection/status', user);
    expect(degraded.body).toMatchObject({ status: 'connected', degraded: true });
    await stack.provider.control('/dev/reset', {});
    stack.clock.offset += 130; // the failed attempt's claim lapses, and the loop tries again
    for (let i = 0; i < 100 && (await refreshCount(stack)) === 0; i++) await sleep(50);
    expect(await refreshCount(stack)).toBe(1);
    for (let i = 0; i < 100 && (await broker.storage.records.get(idOf(user)))?.failures; i++) await sleep(50);
    expect((await call(broker, '/api/connection/status', user)).body).toMatchObject({ status: 'connected', degraded: false });
    expect((await storedSecrets(stack, user)).refresh!.payload.generation).toBe(2);
  } finally {
    stack.clock.offset = 0;
    await broker.stop();
  }
});

test('an outbox entry whose access token expired before the Secret Store came back is flushed without it, and the next call refreshes', async () => {
  const broker = await startBroker(stack);
  const user = newUser('outage');
  try {
    await connect(stack, broker, user);
    stack.clock.offset += 5;
    stack.emulator.faults.inject({ kind: 'http500', count: 1_000_000, route: 'POST /v1/apps/secrets' });
    expect((await call(broker, '/api/token', user)).status).toBe(200);
    stack.clock.offset += 5; // the refreshed access token (3 s) expired too, still only in the outbox
    stack.emulator.faults.clear();
    expect(await eventually(async () => (await broker.storage.outbox.connections()).length === 0)).toBe(true);
    const stored = await storedSecrets(stack, user);
    expect([stored.refresh!.payload.generation, stored.access]).toEqual([2, undefined]);
    expect((await call(broker, '/api/token', user)).status).toBe(200);
    expect((await storedSecrets(stack, user)).refresh!.payload.generation).toBe(3);
    await expectAllAliveOn(broker, [user]);
  } finally {
    stack.emulator.faults.clear();
    stack.clock.offset = 0;
    await broker.stop();
  }
});

test('a write the Secret Store refuses (the access token expired while stripe-node retried it) is kept in the outbox, and the caller gets a valid token, not a 500', async () => {
  const broker = await startBroker(stack);
  const user = newUser('outage');
  const writes = () => stack.emulator.requests['POST /v1/apps/secrets'] ?? 0;
  try {
    await connect(stack, broker, user);
    stack.clock.offset += 5;
    // The refreshed access token's write fails once; before stripe-node's retry (at least 250 ms later) it expires.
    stack.emulator.faults.inject({ kind: 'http500', route: 'POST /v1/apps/secrets', name: 'oauth.access' });
    const before = writes();
    const answer = call(broker, '/api/token', user);
    expect(await eventually(() => writes() === before + 2, 10_000)).toBe(true);
    stack.clock.offset += 10;
    // The refused token had expired by the answer, so the caller got the next one.
    const served = await answer;
    expect(served.status).toBe(200);
    expect(logLines.some((line) => line.includes('the Secret Store refused a write') && line.includes(user.user_id))).toBe(true);
    expect(await eventually(async () => (await storedSecrets(stack, user)).access?.payload.access_token === served.body.access_token)).toBe(true);
    await expectAllAliveOn(broker, [user]);
  } finally {
    stack.emulator.faults.clear();
    stack.clock.offset = 0;
    await broker.stop();
  }
});

test('a stop while a refresh writes to a hanging Secret Store does not wait for the write: its tokens are in the outbox, and the next start writes them', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'outage-stop-'));
  const file = path.join(dir, 'registry.sqlite');
  // Shutdown may wait as long as it likes for refreshes under way: only their tokens being kept ends it.
  const first = await startBroker(stack, { storage: openSqliteStorage(file), refresh: { callerWaitMs: 500 }, shutdownSettleMs: 600_000 });
  const user = newUser('outage');
  let next: TestBroker | undefined;
  try {
    await connect(stack, first, user);
    stack.clock.offset += 5;
    // The write hangs past the test's own timeout (its client gives up after 20 s): a stop that waited for it would not end in time.
    stack.emulator.faults.inject({ kind: 'delay', delayMs: 60_000, count: 2, route: 'POST /v1/apps/secrets' });
    expect((await call(first, '/api/token', user)).status).toBe(200);
    await first.stop();
    stack.emulator.faults.clear();
    expect((await storedSecrets(stack, user)).refresh!.payload.generation).toBe(1);
    next = await startBroker(stack, { storage: openSqliteStorage(file) });
    expect(await eventually(async () => (await storedSecrets(stack, user)).refresh?.payload.generation === 2)).toBe(true);
    await expectAllAliveOn(next, [user]);
  } finally {
    stack.clock.offset = 0;
    await next?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 15_000);

test('Secret Store writes slower than the caller waits: the caller gets the new tokens once they are in the outbox, not refresh_pending', async () => {
  const broker = await startBroker(stack, { refresh: { callerWaitMs: 500 } });
  const user = newUser('outage');
  try {
    await connect(stack, broker, user);
    const before = await storedSecrets(stack, user);
    stack.clock.offset += 5;
    stack.emulator.faults.inject({ kind: 'delay', delayMs: 700, count: 2, route: 'POST /v1/apps/secrets' });
    const answer = await call(broker, '/api/token', user);
    expect(answer.status).toBe(200);
    expect(answer.body.access_token).not.toBe(before.access!.payload.access_token);
    expect((await fetch(`${stack.provider.issuer}/me`, { headers: { authorization: `Bearer ${answer.body.access_token}` } })).status).toBe(200);
    expect(await eventually(async () => (await storedSecrets(stack, user)).refresh?.payload.generation === 2)).toBe(true);
    await expectAllAliveOn(broker, [user]);
  } finally {
    stack.emulator.faults.clear();
    stack.clock.offset = 0;
    await broker.stop();
  }
});
