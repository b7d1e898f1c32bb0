/**
 * The broker's own database failing at the worst moment — when the provider has just answered a
 * refresh, so the old refresh token is spent — through the real parts: a real PostgreSQL stopped
 * under the backend, and SQLite with no room left. A refresh is either not sent or its answer
 * kept; the backend answers 503 `registry_unavailable` meanwhile, never 500.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectPostgresStorage } from '../../server/storage/postgres';
import { openSqliteStorage, type SqliteStorage } from '../../server/storage/sqlite';
import { expectAllAlive } from '../support/alive';
import { refreshCount, untilAtProvider } from '../support/dev-provider';
import { eventually, newUser } from '../support/fixtures';
import { startPostgres, type TestPostgres } from '../support/fleet';
import { startBroker, type TestBroker } from '../support/in-process-broker';
import { logLines } from '../support/leak-check';
import { call, connect } from '../support/signed-calls';
import { type Stack, stackSuite, storedSecrets } from '../support/stack';

jest.setTimeout(60_000);

let stack: Stack;
let dir: string;
stackSuite(undefined, (started) => (stack = started));
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'broker-storage-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  stack.clock.offset = 0;
});

/** A connected user whose access token has just expired (by the stack's clock, which the emulator and the broker share). */
async function dueConnection(broker: TestBroker) {
  const user = newUser('storage');
  expect((await connect(stack, broker, user)).status).toBe(200);
  stack.clock.offset += 61;
  return user;
}

const heldInMemory = (userId: string) => logLines.some((line) => line.includes('held in memory') && line.includes(userId));

describe('PostgreSQL', () => {
  let postgres: TestPostgres;
  beforeAll(async () => (postgres = await startPostgres()));
  afterAll(() => postgres?.stop());

  test('stopped while the provider answers: the answer is written to the Secret Store from memory, calls answer 503 registry_unavailable, nothing is lost', async () => {
    // The answer waits at the provider (processed, rotated) until PostgreSQL is down, however long stopping takes.
    const broker = await startBroker(stack, { storage: await connectPostgresStorage(postgres.url), provider: { timeoutSeconds: 30 }, refresh: { callerWaitMs: 60_000 } });
    try {
      const user = await dueConnection(broker);
      await stack.provider.control('/dev/faults', { kind: 'held', delayMs: 60_000 });
      const refreshing = call(broker, '/api/token', user);
      await untilAtProvider(stack);
      await postgres.stopServer();
      await stack.provider.control('/dev/release', {});
      const answer = await refreshing;
      expect([answer.status, answer.body.error?.code]).toEqual([200, undefined]);
      expect(heldInMemory(user.user_id)).toBe(true);
      const stored = await storedSecrets(stack, user);
      expect(stored.refresh!.payload.generation).toBe(2);
      expect(stored.access!.payload.access_token).toBe(answer.body.access_token);
      const status = await call(broker, '/api/connection/status', user);
      expect([status.status, status.body.error?.code]).toEqual([503, 'registry_unavailable']);
      await postgres.startServer();
      expect(await eventually(async () => (await call(broker, '/api/connection/status', user)).body.status === 'connected', 15_000)).toBe(true);
      await expectAllAlive(stack, [user]);
    } finally {
      await postgres.startServer().catch(() => undefined);
      await broker.stop();
    }
  });
});

test('the outbox row cannot be deleted once the Secret Store has the tokens: the caller is answered, and a later flush removes the row', async () => {
  const storage = openSqliteStorage(path.join(dir, 'registry-cleanup.sqlite'));
  let failDeletes = false;
  const outbox = Object.create(storage.outbox) as typeof storage.outbox;
  outbox.delete = async (connection, generation) => {
    if (failDeletes) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    return storage.outbox.delete(connection, generation);
  };
  const broker = await startBroker(stack, { storage: { ...storage, outbox } });
  try {
    const user = await dueConnection(broker);
    failDeletes = true;
    const answer = await call(broker, '/api/token', user);
    expect([answer.status, answer.body.error?.code]).toEqual([200, undefined]);
    expect((await storedSecrets(stack, user)).refresh!.payload.generation).toBe(2);
    expect((await storage.outbox.connections()).map((c) => c.userId)).toEqual([user.user_id]);
    failDeletes = false;
    expect(await eventually(async () => (await storage.outbox.connections()).length === 0, 15_000)).toBe(true);
    await expectAllAlive(stack, [user]);
  } finally {
    await broker.stop();
  }
});

describe('SQLite with no room left', () => {
  let storage: SqliteStorage;
  let broker: TestBroker;
  beforeEach(async () => {
    storage = openSqliteStorage(path.join(dir, `registry-${Date.now()}.sqlite`));
    broker = await startBroker(stack, { storage });
  });
  afterEach(() => broker.stop());

  test('before the refresh: its room cannot be reserved, so nothing is sent (503), and it goes through once there is room', async () => {
    const user = await dueConnection(broker);
    const refreshes = await refreshCount(stack);
    storage.limitPages(0);
    const refused = await call(broker, '/api/token', user);
    expect([refused.status, refused.body.error?.code]).toEqual([503, 'registry_unavailable']);
    expect(await refreshCount(stack)).toBe(refreshes);
    storage.limitPages(10_000);
    expect((await call(broker, '/api/token', user)).status).toBe(200);
    expect(await refreshCount(stack)).toBe(refreshes + 1);
    await expectAllAlive(stack, [user]);
  });

  test('full while the refresh is at the provider: the answer takes the room its intent reserved, in the outbox', async () => {
    const user = await dueConnection(broker);
    await stack.provider.control('/dev/faults', { kind: 'held', delayMs: 60_000 });
    const refreshing = call(broker, '/api/token', user);
    await untilAtProvider(stack);
    storage.limitPages(0);
    await stack.provider.control('/dev/release', {});
    const answer = await refreshing;
    expect(answer.status).toBe(200);
    expect(heldInMemory(user.user_id)).toBe(false);
    expect((await storedSecrets(stack, user)).refresh!.payload.generation).toBe(2);
    await expectAllAlive(stack, [user]);
  });
});
