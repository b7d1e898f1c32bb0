/**
 * The crash window after the provider's answer, rotation on: a process that dies once the
 * answer's last byte is in, while openid-client reads and checks it and before its tokens reach
 * the outbox, loses nothing — the answer was kept, sealed, before anything read it, and the
 * backend that comes next takes it as the refresh would have. The commit is held at the outbox
 * (a table lock in PostgreSQL; an outbox write that never returns in SQLite), so the process dies
 * exactly there, after the provider rotated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { ConnectionId } from '../../src/common/connection-id';
import type { Outbox } from '../../server/storage/ports';
import { openSqliteStorage } from '../../server/storage/sqlite';
import { expectAllAlive } from '../support/alive';
import { providerStats, refreshCount } from '../support/dev-provider';
import { eventually, newUser, type User } from '../support/fixtures';
import { advanceUntilDue, backendClock, backendEnv, DASHBOARD_REDIRECT, startBackendProcess, startPostgres, type TestPostgres } from '../support/fleet';
import { startBroker } from '../support/in-process-broker';
import { logLines } from '../support/leak-check';
import { call, connect } from '../support/signed-calls';
import { clockUntilDue, type Stack, stackSuite } from '../support/stack';

let stack: Stack;
let postgres: TestPostgres;
let dataDir: string;
const outputs: string[] = [];

// What the backends printed or logged is the leak check's input.
stackSuite(['--access-ttl', '3'], (started) => (stack = started), () => [...outputs, ...logLines]);
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(() => postgres.stop());
beforeEach(async () => {
  stack.clock.offset = 0;
  await stack.provider.control('/dev/reset', {});
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'broker-window-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const idOf = (u: User): ConnectionId => ({ accountId: u.account_id, userId: u.user_id, mode: u.mode });

/** The `refresh` lines that say a kept answer was taken for `user`. */
const recoveredLines = (lines: string[], user: User) =>
  lines.filter((l) => l.includes('"refresh"') && l.includes(user.user_id)).map((l) => JSON.parse(l)).filter((l) => l.recovered === true);

/** After a restart: the connection serves, nothing was reused at the provider, and its refresh token is the live one. */
async function expectIntact(backend: { url: string }, user: User): Promise<void> {
  // The dead holder's lock lapses first (a 503 until then).
  let answer = await call(backend, '/api/token', user);
  await eventually(async () => (answer = await call(backend, '/api/token', user)).status !== 503, 20_000);
  expect([answer.status, answer.body.error?.code]).toEqual([200, undefined]);
  expect((await call(backend, '/api/connection/status', user)).body).toMatchObject({ status: 'connected' });
  expect((await providerStats(stack)).token.refresh_token?.['400'] ?? 0).toBe(0);
  await expectAllAlive(stack, [user]);
}

test('PostgreSQL: SIGKILL after the answer is kept, while its commit waits at the outbox; the restarted backend takes the kept answer and the connection lives', async () => {
  // A 1 s provider timeout and one attempt make the dead holder's lease short: 1 s + 2 s.
  // The backends' clocks move (fleet.ts): each measures the database's clock at its start, and the move holds past it.
  const clock = backendClock();
  const env = backendEnv(stack, { DATABASE_URL: postgres.url, DATA_DIR: dataDir, OAUTH_TIMEOUT_SECONDS: '1', OAUTH_RETRY_ATTEMPTS: '1', REFRESH_WAIT_SECONDS: '2', ...clock.env });
  let backend = await startBackendProcess(env);
  const user = newUser('window');
  // One client holds the outbox, the other watches (a transaction sees pg_stat_activity as it first read it).
  const [db, observer] = [new Client({ connectionString: postgres.url }), new Client({ connectionString: postgres.url })];
  await Promise.all([db.connect(), observer.connect()]);
  try {
    expect((await connect(stack, backend, user, { redirectUri: DASHBOARD_REDIRECT })).status).toBe(200);
    await advanceUntilDue(stack, clock, [backend], [user]);
    // While this transaction holds the outbox, no write gets in (reads do): the commit waits there.
    await db.query('BEGIN');
    await db.query('LOCK TABLE broker_outbox IN EXCLUSIVE MODE');
    const rotated = (await refreshCount(stack)) + 1;
    const pending = call(backend, '/api/token', user).catch(() => undefined);
    const committing = async () =>
      (await observer.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND state = 'active' AND query LIKE '%INSERT INTO broker_outbox (%'")).rows;
    expect(await eventually(async () => (await committing()).length === 1, 20_000)).toBe(true);
    expect(await refreshCount(stack)).toBe(rotated);
    await backend.kill();
    await pending;
    // The dead process's statement goes with it (PostgreSQL would otherwise run it once the lock is gone).
    for (const { pid } of await committing()) await observer.query('SELECT pg_terminate_backend($1)', [pid]);
    await db.query('ROLLBACK');
    outputs.push(backend.output());
    backend = await startBackendProcess(env);
    // Restarted, it reads the database's clock again, and only a token due by it sends it to the kept answer: moved again.
    await advanceUntilDue(stack, clock, [backend], [user]);
    await expectIntact(backend, user);
    expect(recoveredLines(backend.output().split('\n').filter((l) => l.startsWith('{')), user)).toEqual([expect.objectContaining({ outcome: 'refreshed' })]);
    expect((await observer.query('SELECT count(*)::int AS n FROM broker_outbox_answers')).rows[0].n).toBe(0);
  } finally {
    await Promise.all([db.end(), observer.end()]);
    outputs.push(backend.output());
    await backend.stop();
  }
});

/**
 * A backend in process on the test's registry file whose outbox, once `crash()` is called, never
 * returns from its next `method` call: the process stops there for good, as a crash would.
 * `reached` resolves when it has. Stopped, it waits for none of its refreshes, as a dead process would not.
 */
async function crashingBroker(method: 'put' | 'dropAnswer') {
  const storage = openSqliteStorage(path.join(dataDir, 'registry.sqlite'));
  let crashing = false;
  let reached!: () => void;
  const stopped = new Promise<void>((resolve) => (reached = resolve));
  const outbox: Outbox = Object.assign(Object.create(storage.outbox) as Outbox, {
    [method]: (connection: ConnectionId, arg: never) => {
      if (!crashing) return storage.outbox[method](connection, arg);
      reached();
      return new Promise<void>(() => undefined);
    },
  });
  const broker = await startBroker(stack, { storage: { ...storage, outbox }, refresh: { callerWaitMs: 500 }, shutdownSettleMs: 0 });
  return { broker, crash: () => (crashing = true), reached: stopped };
}

/** A user connected through `broker` whose access token is due. */
async function dueConnection(broker: { url: string }): Promise<User> {
  const user = newUser('window');
  expect((await connect(stack, broker, user)).status).toBe(200);
  await clockUntilDue(stack, [user]);
  return user;
}

test('SQLite: the process stops for good after the answer is kept, its outbox write never returning; a backend started on the same registry takes the kept answer and the connection lives', async () => {
  const first = await crashingBroker('put');
  const user = await dueConnection(first.broker);
  first.crash();
  const rotated = (await refreshCount(stack)) + 1;
  const pending = call(first.broker, '/api/token', user);
  await first.reached;
  expect(await refreshCount(stack)).toBe(rotated);
  expect((await pending).body.error?.code).toBe('refresh_pending');
  await first.broker.stop();
  const second = await startBroker(stack, { storage: openSqliteStorage(path.join(dataDir, 'registry.sqlite')) });
  try {
    await expectIntact(second, user);
    expect(recoveredLines(logLines, user)).toEqual([expect.objectContaining({ outcome: 'refreshed' })]);
    expect(await second.storage.outbox.answer(idOf(user))).toBeUndefined();
  } finally {
    await second.stop();
  }
});

test('SQLite: a kept answer with no tokens in it (the provider rotated, then sent HTML), the process stopped before it was dropped: the next backend drops it, and the loss is lost_after_unknown_outcome', async () => {
  const first = await crashingBroker('dropAnswer');
  const user = await dueConnection(first.broker);
  first.crash();
  await stack.provider.control('/dev/faults', { kind: 'html_body' });
  const pending = call(first.broker, '/api/token', user);
  await first.reached;
  await pending;
  await first.broker.stop();
  const second = await startBroker(stack, { storage: openSqliteStorage(path.join(dataDir, 'registry.sqlite')) });
  try {
    let answer = await call(second, '/api/token', user);
    await eventually(async () => (answer = await call(second, '/api/token', user)).status !== 503, 20_000);
    expect(answer.body.error?.code).toBe('reconnect_required');
    expect((await call(second, '/api/connection/status', user)).body).toMatchObject({ status: 'reconnect_required', reason: 'lost_after_unknown_outcome' });
    const refreshes = logLines.filter((l) => l.includes('"refresh"') && l.includes(user.user_id)).map((l) => JSON.parse(l));
    expect(refreshes).toContainEqual(expect.objectContaining({ outcome: 'unknown_outcome', error: 'unreadable answer: kept before a restart' }));
    expect(await second.storage.outbox.answer(idOf(user))).toBeUndefined();
  } finally {
    await second.stop();
  }
});
