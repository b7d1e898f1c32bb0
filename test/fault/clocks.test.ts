/**
 * Clocks: one backend whose machine clock is off (a preload shifts its `Date`, as a machine
 * without NTP would be) beside the correct rest of the stack. Its stored expiries, its check of
 * Stripe's signature timestamps and its check of the provider's ID tokens follow the fleet's
 * clock — the database's with PostgreSQL, else the provider's `Date` header — and it warns.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unixNow } from '../../src/common/clock';
import { expectAllAlive } from '../support/alive';
import type { RunningCommand } from '../support/commands';
import { refreshCount } from '../support/dev-provider';
import { newUser } from '../support/fixtures';
import { advanceUntilDue, type BackendClock, backendClock, backendEnv, DASHBOARD_REDIRECT, startBackendProcess, startPostgres, type TestPostgres } from '../support/fleet';
import { call, connect } from '../support/signed-calls';
import { type Stack, stackSuite, storedSecrets, untilDue } from '../support/stack';

jest.setTimeout(60_000);

let stack: Stack;
let postgres: TestPostgres;
const dirs: string[] = [];
const outputs: string[] = [];

stackSuite(['--access-ttl', '4'], (started) => (stack = started), () => outputs);
beforeAll(async () => (postgres = await startPostgres()));
afterAll(async () => {
  await postgres?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A backend as in production whose clock runs `clock.offset` off; with PostgreSQL, or SQLite in a DATA_DIR of its own. */
async function skewedBackend(clock: BackendClock, database: 'postgres' | 'sqlite'): Promise<RunningCommand> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'broker-clock-'));
  dirs.push(dataDir);
  return startBackendProcess(backendEnv(stack, {
    DATA_DIR: dataDir,
    ...(database === 'postgres' && { DATABASE_URL: postgres.url }),
    ...clock.env,
  }));
}

async function finish(backend: RunningCommand): Promise<string> {
  const output = backend.output();
  outputs.push(output);
  await backend.kill();
  return output;
}

/** The stored access secret expires when the token does, by the real clock (a second either way for the test's own steps). */
async function expectExpiryByRealClock(user: ReturnType<typeof newUser>, issuedBefore: number): Promise<void> {
  const { access } = await storedSecrets(stack, user);
  expect(access!.expires_at).toBeGreaterThanOrEqual(issuedBefore + 4 - 2);
  expect(access!.expires_at).toBeLessThanOrEqual(unixNow() + 4 + 2);
}

test('two minutes ahead, on PostgreSQL: expiries are stored by the database clock, not two minutes late', async () => {
  const ahead = await skewedBackend(backendClock(120), 'postgres');
  try {
    const user = newUser('clock');
    const before = unixNow();
    expect((await connect(stack, ahead, user, { redirectUri: DASHBOARD_REDIRECT })).status).toBe(200);
    await expectExpiryByRealClock(user, before);
    await untilDue(stack, [user]);
    const refreshedAt = unixNow();
    expect((await call(ahead, '/api/token', user)).status).toBe(200);
    await expectExpiryByRealClock(user, refreshedAt);
  } finally {
    expect(await finish(ahead)).toMatch(/clock differs from the database/);
  }
});

test("two minutes behind, on PostgreSQL: Stripe's signature timestamps are accepted", async () => {
  const behind = await skewedBackend(backendClock(-120), 'postgres');
  try {
    const user = newUser('clock');
    expect((await connect(stack, behind, user, { redirectUri: DASHBOARD_REDIRECT })).status).toBe(200);
    expect((await call(behind, '/api/connection/status', user)).body).toMatchObject({ status: 'connected' });
  } finally {
    await finish(behind);
  }
});

test("an hour ahead, on SQLite: the provider's clock is the reference, its ID tokens pass, and nothing is lost", async () => {
  const clock = backendClock(3600);
  const ahead = await skewedBackend(clock, 'sqlite');
  try {
    const user = newUser('clock');
    const before = unixNow();
    const connected = await connect(stack, ahead, user, { redirectUri: DASHBOARD_REDIRECT });
    expect(connected.body).toMatchObject({ status: 'connected', degraded: false });
    await expectExpiryByRealClock(user, before);
    // Corrected to the provider's clock at the connect, so moved from there, until the refresh's answer.
    await advanceUntilDue(stack, clock, [ahead], [user]);
    const refreshes = await refreshCount(stack);
    expect((await call(ahead, '/api/token', user)).status).toBe(200);
    expect(await refreshCount(stack)).toBe(refreshes + 1);
    expect((await call(ahead, '/api/connection/status', user)).body).toMatchObject({ status: 'connected', degraded: false });
    await expectAllAlive(stack, [user]);
  } finally {
    expect(await finish(ahead)).toMatch(/clock differs from the provider/);
  }
});
