/**
 * Connection events through the real parts: each change of a connection's state is one event,
 * delivered to a real HTTP receiver in the Standard Webhooks form (checked by the reference
 * library), at least once and in order per connection, retried while the receiver is down or
 * hangs, kept as failed after the retry window; the in-process subscriber hears the same.
 */
import type { ConnectionEvent } from '../../src/common/connection-event';
import { eventually, newUser, User } from '../support/fixtures';
import { startBroker, type TestBroker } from '../support/in-process-broker';
import { seenSecrets } from '../support/leak-check';
import { call, connect, postStripeEvent } from '../support/signed-calls';
import { deliverLater, type EventReceiver, startEventReceiver } from '../support/event-receiver';
import { type Stack, stackSuite, storedSecrets } from '../support/stack';

let stack: Stack;
let receiver: EventReceiver;
let broker: TestBroker;
const heard: ConnectionEvent[] = [];

stackSuite(undefined, (started) => (stack = started));
beforeEach(async () => {
  stack.clock.offset = 0;
  await stack.provider.control('/dev/reset', {});
  receiver = await startEventReceiver();
  broker = await startBroker(stack, {
    events: { webhook: { url: new URL(receiver.url), secrets: receiver.secrets, timeoutMs: 1000, retrySeconds: 3600 }, onEvent: (event) => heard.push(event) },
  });
});
afterEach(async () => {
  await broker.stop();
  await receiver.close();
  // No token, code or secret in anything the receiver got.
  const bodies = receiver.deliveries.map((d) => d.body).join('\n');
  expect([...seenSecrets].filter((secret) => bodies.includes(secret))).toEqual([]);
});

const of = (user: User) => (event: ConnectionEvent) => event.data.user_id === user.user_id;
const typesOf = (events: ConnectionEvent[]) => events.map((event) => event.type);
const acceptedFor = (user: User) => receiver.accepted().filter(of(user));

async function revokeAtProvider(user: User): Promise<void> {
  const { refresh } = await storedSecrets(stack, user);
  await fetch(`${stack.provider.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refresh!.payload.refresh_token, client_id: 'stripe-app-dev' }),
  });
}

test('connect, degrade, recover, revoke, reconnect and disconnect each make exactly their event, signed for each secret', async () => {
  const user = newUser('events');
  const expected: string[] = [];
  const step = async (type: string, action: () => Promise<unknown>) => {
    await action();
    expected.push(type);
    // Delivered before the next step: each step made exactly this one event.
    expect(await eventually(() => acceptedFor(user).length >= expected.length)).toBe(true);
    expect(typesOf(acceptedFor(user))).toEqual(expected);
  };
  await step('connection.connected', async () => expect((await connect(stack, broker, user)).status).toBe(200));
  await step('connection.degraded', async () => {
    stack.clock.offset += 61;
    await stack.provider.control('/dev/faults', { kind: 'http503', count: 3 });
    expect((await call(broker, '/api/token', user)).body.error?.code).toBe('provider_unavailable');
  });
  await step('connection.recovered', async () => expect((await call(broker, '/api/token', user)).status).toBe(200));
  await step('connection.reconnect_required', async () => {
    await revokeAtProvider(user);
    stack.clock.offset += 61;
    expect((await call(broker, '/api/token', user)).body.error?.code).toBe('reconnect_required');
  });
  await step('connection.connected', async () => expect((await connect(stack, broker, user)).status).toBe(200));
  await step('connection.disconnected', async () => expect((await call(broker, '/api/oauth/disconnect', user)).status).toBe(200));

  const events = acceptedFor(user);
  expect(events.map((e) => e.data)).toEqual([
    { mode: 'test', account_id: user.account_id, user_id: user.user_id, status: 'connected', reason: null, scope: 'user' },
    { mode: 'test', account_id: user.account_id, user_id: user.user_id, status: 'connected', reason: null, scope: 'user' },
    { mode: 'test', account_id: user.account_id, user_id: user.user_id, status: 'connected', reason: null, scope: 'user' },
    { mode: 'test', account_id: user.account_id, user_id: user.user_id, status: 'reconnect_required', reason: 'invalid_grant', scope: 'user' },
    { mode: 'test', account_id: user.account_id, user_id: user.user_id, status: 'connected', reason: null, scope: 'user' },
    { mode: 'test', account_id: user.account_id, user_id: user.user_id, status: 'not_connected', reason: null, scope: 'user', by: 'user' },
  ]);
  for (const event of events) expect(Object.keys(event).sort()).toEqual(['created', 'data', 'id', 'type']);
  // Standard Webhooks headers, one v1 signature per secret; the in-process subscriber heard the same events.
  for (const delivery of receiver.deliveries) {
    expect(delivery.headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(delivery.headers['webhook-id']).toBe(JSON.parse(delivery.body).id);
    expect(Number(delivery.headers['webhook-timestamp'])).toBeGreaterThan(0);
  }
  expect(heard.filter(of(user)).map((e) => e.id)).toEqual(events.map((e) => e.id));
  const metrics = await broker.metrics.registry.getSingleMetricAsString('broker_events_total');
  expect(metrics).toContain('type="connection.degraded"');
});

test('a receiver that hangs, then is down, then back gets every event, in order per connection, each taken once', async () => {
  receiver.hanging = true;
  const users = [newUser('events'), newUser('events'), newUser('events')];
  for (const user of users) {
    await connect(stack, broker, user);
    await call(broker, '/api/oauth/disconnect', user);
  }
  await connect(stack, broker, users[0]);
  // The first attempts time out (1 s here); then the receiver answers 503.
  expect(await eventually(async () => (await broker.storage.events.list('pending', 10)).some((e) => e.lastError === 'timeout'), 8000)).toBe(true);
  receiver.hanging = false;
  receiver.down = true;
  deliverLater(stack, broker, 120);
  expect(await eventually(() => receiver.deliveries.filter((d) => d.status === 503).length >= 3, 8000)).toBe(true);
  expect(receiver.accepted()).toEqual([]);
  receiver.down = false;
  receiver.delayMs = 200;
  deliverLater(stack, broker, 7200);
  // Woken while we wait: each connection's next event goes once the one before it is delivered, not at the next poll.
  expect(await eventually(() => {
    broker.deliveries.wake();
    return receiver.accepted().length === 7;
  }, 10_000)).toBe(true);

  const accepted = receiver.accepted();
  expect(new Set(accepted.map((e) => e.id)).size).toBe(7);
  expect(typesOf(accepted.filter(of(users[0])))).toEqual(['connection.connected', 'connection.disconnected', 'connection.connected']);
  for (const user of users.slice(1)) expect(typesOf(accepted.filter(of(user)))).toEqual(['connection.connected', 'connection.disconnected']);
  // The receiver records a delivery before answering it: the last one is marked delivered just after.
  expect(await eventually(async () => (await broker.storage.events.summary()).pending === 0, 10_000)).toBe(true);
});

test('an event still refused after the retry window is kept as failed, and redelivered on request', async () => {
  receiver.down = true;
  const user = newUser('events');
  await connect(stack, broker, user);
  expect(await eventually(() => receiver.deliveries.length >= 1)).toBe(true);
  deliverLater(stack, broker, 3600);
  expect(await eventually(async () => (await broker.storage.events.summary()).failed === 1, 8000)).toBe(true);
  const [failed] = await broker.storage.events.list('failed', 10);
  expect(failed).toMatchObject({ type: 'connection.connected', lastError: 'HTTP 503', attempts: 2 });
  // A failed event does not hold back the connection's later ones.
  await call(broker, '/api/oauth/disconnect', user);
  receiver.down = false;
  expect(await eventually(() => typesOf(acceptedFor(user)).join() === 'connection.disconnected')).toBe(true);
  expect(await broker.storage.events.redeliver('failed', stack.now())).toBe(1);
  broker.deliveries.wake();
  expect(await eventually(() => acceptedFor(user).length === 2)).toBe(true);
  expect(acceptedFor(user)[1].id).toBe(failed.id);
});

test('an uninstall disconnects by deauthorization; an account-wide connection has no user and scope account', async () => {
  await broker.stop();
  broker = await startBroker(stack, { connectionScope: 'account', events: { webhook: { url: new URL(receiver.url), secrets: receiver.secrets, timeoutMs: 1000, retrySeconds: 3600 } } });
  const user = newUser('events', { account_id: 'acct_eventswide' });
  await connect(stack, broker, user);
  const res = await postStripeEvent(broker, { id: 'evt_events_deauth', object: 'event', type: 'account.application.deauthorized', account: user.account_id, livemode: false, data: { object: {} } });
  expect(res.status).toBe(200);
  expect(await eventually(() => receiver.accepted().length === 2)).toBe(true);
  expect(receiver.accepted().map((e) => [e.type, e.data])).toEqual([
    ['connection.connected', { mode: 'test', account_id: 'acct_eventswide', user_id: null, status: 'connected', reason: null, scope: 'account' }],
    ['connection.disconnected', { mode: 'test', account_id: 'acct_eventswide', user_id: null, status: 'not_connected', reason: null, scope: 'account', by: 'deauthorization' }],
  ]);
});

test('an in-process subscriber that throws does not fail the change that made the event', async () => {
  await broker.stop();
  broker = await startBroker(stack, { events: { onEvent: () => { throw new Error('subscriber bug'); } } });
  const user = newUser('events');
  expect((await connect(stack, broker, user)).status).toBe(200);
  expect((await call(broker, '/api/token', user)).status).toBe(200);
  // Without a webhook nothing is recorded for delivery.
  expect((await broker.storage.events.summary()).pending).toBe(0);
});
