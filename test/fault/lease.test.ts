/**
 * Pauses: a lock holder that stops (SIGSTOP) or whose database freezes past its lease never
 * presents a refresh token — another instance has refreshed meanwhile, and with rotation the
 * spent token would revoke the grant. Two backends started as in production on one PostgreSQL,
 * rotation on, a 2 s provider timeout, one attempt and a half-second margin (so a 2.5 s lease). "Lost" means the stored
 * refresh token no longer works at the provider; the backends' logs tell which of them refreshed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { RunningCommand } from '../support/commands';
import { refreshCount, untilAtProvider } from '../support/dev-provider';
import { expectAllAlive } from '../support/alive';
import { eventually, newUser, sleep, type User } from '../support/fixtures';
import { backendEnv, DASHBOARD_REDIRECT, startBackendProcess, startPostgres, type TestPostgres } from '../support/fleet';
import { type ApiAnswer, call, connectAll } from '../support/signed-calls';
import { type Stack, stackSuite, startStack, storedSecrets, untilDue } from '../support/stack';
import { expectOnly, type Outcomes, tally } from '../support/soak';
import { startTokenGate, type TokenGate } from '../support/token-gate';

jest.setTimeout(60_000);

let stack: Stack;
let postgres: TestPostgres;
let dataDir: string;
const outputs: string[] = [];
/** The holder and the other instance of the pause tests, shared by them (started once). */
let pair: RunningCommand[] = [];

stackSuite(['--access-ttl', '3'], (started) => (stack = started), () => [...pair.map((backend) => backend.output()), ...outputs]);
beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'broker-lease-'));
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});
afterEach(() => stack.emulator.faults.clear());

/** A count from the fleet's database. */
async function count(sql: string): Promise<number> {
  const client = new Client({ connectionString: postgres.url });
  await client.connect();
  try {
    return Number((await client.query(sql)).rows[0].n);
  } finally {
    await client.end();
  }
}

/** Whether the fleet wrote every committed refresh to the Secret Store (checking a stored token before would spend an old one). */
const outboxEmpty = async () => (await count('SELECT count(*) AS n FROM broker_outbox')) === 0;
/** Whether a connection lock is held (its lease not lapsed, by the database's clock). */
const lockHeld = async () => (await count('SELECT count(*) AS n FROM broker_locks WHERE expires_at > now()')) > 0;

/** The pair's lease: 2 s × 1 attempt + 0.5 s. */
const LEASE_MS = 2500;

/**
 * How often `backend` logged a refresh of `user`'s tokens that the provider answered with new ones.
 * (Tokens live 3 s: with 2, and times in whole seconds, a refresh ending just past a second handed
 * over a token already due, and the same call refreshed again.)
 */
const refreshesBy = (backend: RunningCommand, user: User) =>
  backend.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
    .filter((line) => line.msg === 'refresh' && line.outcome === 'refreshed' && String(line.connection).split('/').includes(user.user_id)).length;

/** The holder and the other instance. */
async function twoInstances(): Promise<RunningCommand[]> {
  const env = backendEnv(stack, { DATABASE_URL: postgres.url, DATA_DIR: dataDir, OAUTH_TIMEOUT_SECONDS: '2', OAUTH_RETRY_ATTEMPTS: '1', LOCK_LEASE_MARGIN_SECONDS: '0.5', REFRESH_WAIT_SECONDS: '20' });
  return Promise.all([startBackendProcess(env), startBackendProcess(env)]);
}

/** Connected users whose access tokens are due, one for each test (connected at once: one wait for expiry). */
async function dueConnections(via: RunningCommand, count: number): Promise<User[]> {
  const users = Array.from({ length: count }, () => newUser('lease'));
  await connectAll(stack, via, users, { redirectUri: DASHBOARD_REDIRECT });
  await untilDue(stack, users);
  return users;
}

async function stopAll(...backends: RunningCommand[]): Promise<void> {
  for (const backend of backends) {
    try {
      process.kill(backend.pid, 'SIGCONT');
    } catch (err) {
      // One that has exited already (it crashed, or its restart failed): the test's own failure shows, not this.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    outputs.push(backend.output());
  }
  await Promise.all(backends.map((backend) => backend.kill()));
}

/** The shared pair goes on after a test that stopped short: resumed, its database thawed. */
async function resume(): Promise<void> {
  for (const backend of pair) process.kill(backend.pid, 'SIGCONT');
  await postgres.thaw();
}

/** The holder's read of the refresh secret under its lock takes 1.5 s: the moment after its read, before its send. */
const slowRefreshRead = () => stack.emulator.faults.inject({ kind: 'delay', delayMs: 1500, route: 'GET /v1/apps/secrets/find', name: 'oauth.refresh' });

/**
 * The holder starts a refresh; once it has `reached` a point, the database freezes past the lease
 * (its last renewal came before the freeze) and the other instance is called meanwhile, its call
 * waiting on the database too (the holder's renewals are queued). Both answers, once it thaws.
 */
async function frozenDuringRefresh(holder: RunningCommand, other: RunningCommand, user: User, reached: () => Promise<boolean>): Promise<ApiAnswer[]> {
  const first = call(holder, '/api/token', user);
  expect(await eventually(reached)).toBe(true);
  await postgres.freeze();
  const second = call(other, '/api/token', user);
  await sleep(LEASE_MS + 1000);
  await postgres.thaw();
  return Promise.all([first, second]);
}

describe('pauses past the lease, on one pair of instances', () => {
  let due: User[];
  beforeAll(async () => {
    pair = await twoInstances();
    due = await dueConnections(pair[0], 4);
  });
  afterEach(resume);
  afterAll(() => stopAll(...pair));

  test('a holder paused after its read, past its lease: the other instance refreshes, the holder resumes and sends nothing', async () => {
    const [holder, other] = pair;
    const user = due.pop()!;
    const [refreshed, refused] = [await refreshCount(stack), await refreshCount(stack, '400')];
    slowRefreshRead();
    const paused = call(holder, '/api/token', user);
    // Paused while its read of the refresh secret (1.5 s) is under way, until its lease has lapsed.
    expect(await eventually(lockHeld)).toBe(true);
    process.kill(holder.pid, 'SIGSTOP');
    expect(await eventually(async () => !(await lockHeld()), 15_000)).toBe(true);
    // The other instance refreshes; the provider rotates at once and holds its answer back 1 s (within
    // the 2 s timeout), so nothing newer is committed yet and the holder's read (generation 1) looks current.
    await stack.provider.control('/dev/faults', { kind: 'late', delayMs: 1000 });
    const served = call(other, '/api/token', user);
    await untilAtProvider(stack);
    process.kill(holder.pid, 'SIGCONT');
    // The holder finds its lease gone at the send: its caller is told to try again. (On a machine too
    // slow to get there within that second, it sees generation 2 committed, reads again and serves it.)
    const [resumed, theirs] = await Promise.all([paused, served]);
    expect(theirs.status).toBe(200);
    expect(resumed.body.error?.code ?? resumed.body.access_token).toBe(resumed.status === 200 ? theirs.body.access_token : 'busy');
    // Either way nothing reached the provider from the holder.
    expect(await refreshCount(stack)).toBe(refreshed + 1);
    expect(await refreshCount(stack, '400')).toBe(refused);
    expect([refreshesBy(holder, user), refreshesBy(other, user)]).toEqual([0, 1]);
    expect((await call(holder, '/api/connection/status', user)).body).toMatchObject({ status: 'connected', degraded: false });
    await expectAllAlive(stack, [user]);
  });

  test('a holder paused between two attempts of its Secret Store write, past its lease: the other instance refreshes on, and the resumed holder writes nothing older', async () => {
    const [holder, other] = pair;
    const user = due.pop()!;
    // The holder's first write of its new refresh secret (generation 2) fails after 1 s (within the attempt's
    // timeout, half a lease): a retry would follow.
    const { faults } = stack.emulator;
    const taken = faults.taken;
    faults.inject({ kind: 'http500', delayMs: 1000, route: 'POST /v1/apps/secrets', name: 'oauth.refresh' });
    const paused = call(holder, '/api/token', user);
    expect(await eventually(async () => faults.taken > taken)).toBe(true);
    process.kill(holder.pid, 'SIGSTOP');
    expect(await eventually(async () => !(await lockHeld()), 15_000)).toBe(true);
    // The other instance writes generation 2 from the outbox and, its access token due by then, refreshes on (to 3, or
    // further on a machine so slow that a 3 s token expires on its way to the caller).
    expect((await call(other, '/api/token', user)).status).toBe(200);
    const newer = (await storedSecrets(stack, user)).refresh!.payload.generation;
    expect(newer).toBeGreaterThanOrEqual(3);
    process.kill(holder.pid, 'SIGCONT');
    // Its retry met a lapsed lease and was never sent: generation 2 was not written back over the newer one.
    await paused;
    expect((await storedSecrets(stack, user)).refresh!.payload.generation).toBeGreaterThanOrEqual(newer);
    await expectAllAlive(stack, [user], outboxEmpty);
  });

  test('the database frozen past the lease while a holder is between its read and its send: one refresh, nothing lost', async () => {
    const [holder, other] = pair;
    const user = due.pop()!;
    const [refreshed, refused] = [await refreshCount(stack), await refreshCount(stack, '400')];
    slowRefreshRead();
    // Frozen while its read (1.5 s) is under way: the lock is held, nothing sent yet.
    const answers = await frozenDuringRefresh(holder, other, user, lockHeld);
    expect(answers.map((a) => a.status)).toContain(200);
    // The holder found its lease lapsed at the send after the thaw; the other instance refreshed.
    expect(await refreshCount(stack)).toBe(refreshed + 1);
    expect(await refreshCount(stack, '400')).toBe(refused);
    expect([refreshesBy(holder, user), refreshesBy(other, user)]).toEqual([0, 1]);
    await expectAllAlive(stack, [user]);
  });

  test('the database frozen while the refresh is at the provider: the answer is committed after the thaw, through the fence, and nothing is lost', async () => {
    const [holder, other] = pair;
    const user = due.pop()!;
    const [refreshed, refused] = [await refreshCount(stack), await refreshCount(stack, '400')];
    // The provider processes the refresh at once and answers 0.7 s later (within the 2 s timeout); the database freezes meanwhile.
    await stack.provider.control('/dev/faults', { kind: 'late', delayMs: 700 });
    // Frozen once the provider has rotated the token, while its answer is held back.
    const answers = await frozenDuringRefresh(holder, other, user, async () => (await refreshCount(stack)) > refreshed);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    // The holder's answer came through (its call may refresh once more: its new 3 s token came due during the
    // freeze); the other instance refreshed, if at all, only from it, never with the spent token.
    expect(refreshesBy(holder, user)).toBeGreaterThanOrEqual(1);
    expect(await refreshCount(stack)).toBeGreaterThan(refreshed);
    expect(await refreshCount(stack, '400')).toBe(refused);
    await expectAllAlive(stack, [user]);
  });
});

test('a soak: three instances, continuous refreshes, random pauses past the lease and kills with restarts: every connection works at the provider', async () => {
  // Each instance reaches the token endpoint through a gate of its own, so that a pause or a kill
  // never lands while that instance's refresh is at the provider (the window no backend can close).
  // A refresh the backend gave up on while the provider still rotated is a real loss (README), so
  // the timeout is 3 s, beyond what a loaded machine needs (1 s lost connections that way); one
  // attempt and a margin of half a second keep the lease at 3.5 s. Tokens of 3 s, on a stack of its own.
  const soak = await startStack(['--access-ttl', '3']);
  const gates: TokenGate[] = await Promise.all([0, 1, 2].map(() => startTokenGate(soak.provider.issuer)));
  const envs = gates.map((gate) => backendEnv(soak, {
    DATABASE_URL: postgres.url,
    DATA_DIR: dataDir,
    OAUTH_TIMEOUT_SECONDS: '3',
    OAUTH_RETRY_ATTEMPTS: '1',
    LOCK_LEASE_MARGIN_SECONDS: '0.5',
    REFRESH_WAIT_SECONDS: '3',
    OAUTH_TOKEN_ENDPOINT: `${gate.url}/token`,
    OAUTH_REVOCATION_ENDPOINT: `${soak.provider.issuer}/token/revocation`,
  }));
  const fleet = await Promise.all(envs.map((env) => startBackendProcess(env)));
  const users = Array.from({ length: 10 }, () => newUser('soak'));
  let running = true;
  const outcomes: Outcomes = {};
  try {
    await connectAll(soak, fleet[0], users, { redirectUri: DASHBOARD_REDIRECT });
    // Per instance: how often it was paused or resumed (odd while paused), so a call can tell it overlapped a pause.
    const pauses = [0, 0, 0];
    const callers = users.map(async (user) => {
      while (running) {
        const i = Math.floor(Math.random() * fleet.length);
        const before = pauses[i];
        const answer = await call(fleet[i], '/api/token', user).catch(() => undefined);
        tally(outcomes, answer, before % 2 === 1 || pauses[i] !== before);
        await sleep(150 + Math.random() * 150);
      }
    });
    // The three instances are disrupted at once, each on its own: two pauses past the lease and a
    // kill with a restart, in random order (so at times all three are paused together).
    const disrupt = async (i: number) => {
      for (const step of ['pause', 'pause', 'kill'].sort(() => Math.random() - 0.5)) {
        await sleep(100 + Math.random() * 400);
        const release = await gates[i].refuse();
        if (step === 'kill') {
          outputs.push(fleet[i].output());
          await fleet[i].kill();
          fleet[i] = await startBackendProcess(envs[i]);
        } else {
          pauses[i]++;
          process.kill(fleet[i].pid, 'SIGSTOP');
          // The 3.5 s lease and 0.3 to 1.3 s more.
          await sleep(3800 + Math.random() * 1000);
          process.kill(fleet[i].pid, 'SIGCONT');
          pauses[i]++;
          // The gate opens once the resumed instance answers again: a send it was about to make when
          // paused has met the closed gate by then, never a provider after its lease.
          await call(fleet[i], '/api/connection/status', users[0]).catch(() => undefined);
        }
        release();
      }
    };
    await Promise.all(fleet.map((_, i) => disrupt(i)));
    running = false;
    await Promise.all(callers);
    // Waits for a paused holder's lease, a refused gate, a killed instance, and a caller's wait (for
    // a refresh, or for the Secret Store budget) that ran out while its instance was paused, and a token
    // handed over just before its instance was paused, delivered expired after: nothing else.
    expectOnly(outcomes, ['busy', 'refresh_pending', 'secret_store_busy', 'provider_unavailable', 'unreachable', 'expired_in_pause'], () => [...outputs, ...fleet.map((b) => b.output())]);
    expect(outcomes['200']).toBeGreaterThan(users.length);
    for (const user of users) expect((await call(fleet[0], '/api/connection/status', user)).body.status).toBe('connected');
    // The last writes may still wait in the outbox (a paused instance's, say).
    await expectAllAlive(soak, users, outboxEmpty);
  } finally {
    running = false;
    await stopAll(...fleet);
    await Promise.all(gates.map((gate) => gate.close()));
    await soak.close();
  }
});
