/**
 * Connection events survive the backend and are shared by a fleet: a backend started as in
 * production and SIGKILLed right after a state change delivers its event once restarted (the
 * event was written with the change); two backends on one PostgreSQL deliver each event once,
 * in order per connection, however their polls overlap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually, newUser } from '../support/fixtures';
import { call, connect } from '../support/signed-calls';
import { Stack, stackSuite } from '../support/stack';
import type { RunningCommand } from '../support/commands';
import { type EventReceiver, startEventReceiver } from '../support/event-receiver';
import { backendClock, backendEnv, DASHBOARD_REDIRECT, startBackendProcess, startPostgres } from '../support/fleet';

let stack: Stack;
let receiver: EventReceiver;
let dataDir: string;
const outputs: string[] = [];

// What the backends printed is the leak check's input.
stackSuite(undefined, (started) => (stack = started), () => outputs);
beforeEach(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'broker-events-'));
  receiver = await startEventReceiver();
});
afterEach(async () => {
  await receiver.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// Retries and lapsed claims come by moving the backends' clocks, not by waiting for them.
const clock = backendClock();
// A 2 s delivery timeout: a delivery the killed backend had under way is taken up again 7 s later, not 15.
const eventEnv = () => backendEnv(stack, { DATA_DIR: dataDir, EVENTS_WEBHOOK_URL: receiver.url, EVENTS_WEBHOOK_SECRET: receiver.secrets.join(','), EVENTS_TIMEOUT_SECONDS: '2', ...clock.env });

test('a backend SIGKILLed right after a connect delivers the connected event once it is back', async () => {
  receiver.down = true;
  const user = newUser('killed');
  let backend: RunningCommand = await startBackendProcess(eventEnv());
  try {
    expect((await connect(stack, backend, user, { redirectUri: DASHBOARD_REDIRECT })).status).toBe(200);
    await backend.kill();
    outputs.push(backend.output());
    expect(receiver.accepted()).toEqual([]);
    receiver.down = false;
    backend = await startBackendProcess(eventEnv());
    // A delivery the killed backend had under way keeps its claim for the request timeout and 5 s more;
    // a failed one is retried 4-6 s later. Past both by this backend's clock (it meets no provider that would correct it):
    await clock.advance([backend], 8);
    expect(await eventually(() => receiver.accepted().length === 1, 25_000)).toBe(true);
    expect(receiver.accepted()[0]).toMatchObject({ type: 'connection.connected', data: { user_id: user.user_id, status: 'connected' } });
  } finally {
    outputs.push(backend.output());
    await backend.kill();
  }
});

describe('on PostgreSQL', () => {
  let postgres: Awaited<ReturnType<typeof startPostgres>>;
  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterAll(() => postgres.stop());

  test('two backends deliver each event once, in order per connection, while their polls overlap', async () => {
    const env = { ...eventEnv(), DATABASE_URL: postgres.url };
    const fleet = await Promise.all([startBackendProcess(env), startBackendProcess(env)]);
    try {
      // Events pile up while the receiver is down, then both backends race for them; each answer takes up to 300 ms.
      receiver.down = true;
      const users = Array.from({ length: 8 }, () => newUser('fleetevents'));
      for (const [i, user] of users.entries()) {
        const answer = await connect(stack, fleet[i % 2], user, { redirectUri: DASHBOARD_REDIRECT });
        expect([i, answer.status, answer.body.error]).toEqual([i, 200, undefined]);
        expect((await call(fleet[(i + 1) % 2], '/api/oauth/disconnect', user)).status).toBe(200);
      }
      expect(await eventually(() => receiver.deliveries.length >= 8, 10_000)).toBe(true);
      receiver.delayMs = 300;
      receiver.down = false;
      // The first retry comes 4-6 s after the failed attempt: by the backends' clocks (the database's, corrected), now.
      await clock.advance(fleet, 6);
      expect(await eventually(() => receiver.accepted().length >= 16, 20_000)).toBe(true);
      // Stopped, each has had the answer to every delivery it sent: a duplicate would be in by now.
      expect(await Promise.all(fleet.map((backend) => backend.stop()))).toEqual([0, 0]);
      const accepted = receiver.accepted();
      expect(accepted).toHaveLength(16);
      expect(new Set(accepted.map((e) => e.id)).size).toBe(16);
      for (const user of users) {
        expect(accepted.filter((e) => e.data.user_id === user.user_id).map((e) => e.type)).toEqual(['connection.connected', 'connection.disconnected']);
      }
    } finally {
      for (const backend of fleet) outputs.push(backend.output());
      await Promise.all(fleet.map((backend) => backend.kill()));
    }
  });
});
