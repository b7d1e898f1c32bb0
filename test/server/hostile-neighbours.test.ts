/**
 * What one user of an account can do to its other users, what copies of one signed request or
 * one Stripe event can do, and what an unsigned request learns: each attack replayed against real
 * backends — SQLite (one instance) and PostgreSQL (two instances sharing the database, the
 * attacker's requests spread over both).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { APP_ID } from '../../src/common/app-id';
import { dashboardRedirectUri } from '../../src/common/redirect-uri';
import type { StripeEventHandler } from '../../server/http/webhooks';
import type { CountedRequest } from '../../server/storage/ports';
import { connectPostgresStorage } from '../../server/storage/postgres';
import { openSqliteStorage } from '../../server/storage/sqlite';
import { startPostgres, type TestPostgres } from '../support/fleet';
import { eventually, newUser } from '../support/fixtures';
import { type BrokerOverrides, startBroker, type TestBroker } from '../support/in-process-broker';
import { call, connect, freshNonce, postStripeEvent, sign, withNonce } from '../support/signed-calls';
import { type Stack, stackSuite } from '../support/stack';

let stack: Stack;
stackSuite(undefined, (started) => (stack = started));

let postgres: TestPostgres;
const dir = mkdtempSync(path.join(os.tmpdir(), 'neighbours-'));
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Kind = 'sqlite' | 'postgres';
const KINDS: Kind[] = ['sqlite', 'postgres'];

/** The backends of a test: one on SQLite (in a file, to count its rows), or two on one PostgreSQL database. */
interface Fleet {
  brokers: TestBroker[];
  /** The once-only rows of an account's users' nonces. */
  nonceRows(accountId: string): Promise<number>;
}

let running: TestBroker[] = [];
afterEach(async () => {
  await Promise.all(running.map((broker) => broker.stop()));
  running = [];
});

let files = 0;
async function fleet(kind: Kind, overrides: BrokerOverrides = {}): Promise<Fleet> {
  if (kind === 'sqlite') {
    const file = path.join(dir, `registry${++files}.sqlite`);
    const broker = await startBroker(stack, { ...overrides, storage: openSqliteStorage(file) });
    running.push(broker);
    return {
      brokers: [broker],
      nonceRows: async (accountId) => {
        const db = new Database(file, { readonly: true });
        try {
          return (db.prepare('SELECT count(*) AS n FROM once_only WHERE key LIKE ?').get(`nonce:%/${accountId}/%`) as { n: number }).n;
        } finally {
          db.close();
        }
      },
    };
  }
  const brokers = [await startBroker(stack, { ...overrides, storage: await connectPostgresStorage(postgres.url) }), await startBroker(stack, { ...overrides, storage: await connectPostgresStorage(postgres.url) })];
  running.push(...brokers);
  return {
    brokers,
    nonceRows: async (accountId) => {
      const client = new Client({ connectionString: postgres.url });
      await client.connect();
      try {
        return Number((await client.query('SELECT count(*) AS n FROM broker_once_only WHERE key LIKE $1', [`nonce:%/${accountId}/%`])).rows[0].n);
      } finally {
        await client.end();
      }
    },
  };
}

let accounts = 0;
const newAccount = () => `acct_neighbours${Date.now()}x${++accounts}`;

/** `n` requests made by `send(i)`, eight at a time (as a script would); their statuses in order. */
async function flood(n: number, send: (i: number) => Promise<{ status: number }>): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = next++; i < n; i = next++) statuses[i] = (await send(i)).status;
  }));
  return statuses;
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;
const madeUpExchange = { code: 'made-up-code', verifier: 'v'.repeat(43), redirect_uri: dashboardRedirectUri(APP_ID, 'test') };

describe.each(KINDS)('fair limits (%s)', (kind) => {
  test("one user's 101 exchanges, 1,201 status reads and 101 disconnects in a minute never stop another user of the account connecting, reading status or disconnecting", async () => {
    const { brokers } = await fleet(kind);
    const account = newAccount();
    const [hostile, neighbour] = [newUser('hostile', { account_id: account }), newUser('neighbour', { account_id: account })];
    const on = (i: number) => brokers[i % brokers.length];
    const exchanges = await flood(101, (i) => call(on(i), '/api/oauth/exchange', hostile, madeUpExchange));
    const reads = await flood(1201, (i) => call(on(i), '/api/connection/status', hostile));
    const disconnects = await flood(101, (i) => call(on(i), '/api/oauth/disconnect', hostile));
    // Each route let the attacker through only up to their own share (twice, should a minute end during the flood).
    expect(count(exchanges, 429)).toBeGreaterThanOrEqual(101 - 2 * 10);
    expect(count(reads, 429)).toBeGreaterThanOrEqual(1201 - 2 * 60);
    expect(count(disconnects, 429)).toBeGreaterThanOrEqual(101 - 2 * 10);

    const connected = await connect(stack, on(1), neighbour);
    const status = await call(on(0), '/api/connection/status', neighbour);
    const disconnected = await call(on(1), '/api/oauth/disconnect', neighbour);
    expect([connected.status, status.status, status.body.status, disconnected.status]).toEqual([200, 200, 'connected', 200]);
  });

  test("the account's limit is the sum of what each user was let through", async () => {
    // An hour's window: both floods fall in one window however slow the machine (a minute's could end between them).
    const { brokers } = await fleet(kind, { limits: { token: { perConnection: 3, perAccount: 5, windowMs: 3_600_000 } } });
    const account = newAccount();
    const [one, two, three] = [1, 2, 3].map(() => newUser('neighbour', { account_id: account }));
    // Not connected: each request let through is a 404, each refused one a 429.
    const first = await flood(6, (i) => call(brokers[i % brokers.length], '/api/token', one));
    const second = await flood(6, (i) => call(brokers[i % brokers.length], '/api/token', two));
    expect([count(first, 404), count(second, 404)]).toEqual([3, 2]);
    const third = await call(brokers[0], '/api/token', three);
    expect([third.status, third.body.error?.code]).toEqual([429, 'rate_limited']);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('with one connection for the account, each user still has their own window', async () => {
    const { brokers } = await fleet(kind, { connectionScope: 'account', limits: { status: { perConnection: 3, perAccount: 100, windowMs: 60_000 } } });
    const account = newAccount();
    const [hostile, neighbour] = [newUser('hostile', { account_id: account }), newUser('neighbour', { account_id: account })];
    expect(count(await flood(10, (i) => call(brokers[i % brokers.length], '/api/connection/status', hostile)), 429)).toBe(7);
    expect((await call(brokers[0], '/api/connection/status', neighbour)).status).toBe(200);
  });

  test('replays of a used request are refused and give back what they took', async () => {
    const { brokers } = await fleet(kind, { limits: { token: { perConnection: 2, perAccount: 100, windowMs: 60_000 } } });
    const user = newUser('neighbour', { account_id: newAccount() });
    const params = withNonce({});
    const signature = await sign(user, '/api/token', params);
    const send = (broker: TestBroker) => call(broker, '/api/token', user, params, signature);
    expect((await send(brokers[0])).status).toBe(404);
    for (const broker of [...brokers, ...brokers, ...brokers]) expect((await send(broker)).status).toBe(401);
    // One of two used: one fresh request still passes, the next does not.
    expect((await call(brokers[brokers.length - 1], '/api/token', user)).status).toBe(404);
    expect((await call(brokers[0], '/api/token', user)).status).toBe(429);
  });
});

describe.each(KINDS)('nonces are claimed after the limits (%s)', (kind) => {
  test('requests the limit refuses write no once-only rows', async () => {
    const { brokers, nonceRows } = await fleet(kind, { limits: { token: { perConnection: 1, perAccount: 100, windowMs: 60_000 } } });
    const account = newAccount();
    const [user, other] = [newUser('neighbour', { account_id: account }), newUser('neighbour', { account_id: account })];
    expect((await call(brokers[0], '/api/token', user)).status).toBe(404);
    const flooded = await flood(50, (i) => call(brokers[i % brokers.length], '/api/token', user));
    // All refused, unless a minute ended during the flood: then one more was let through.
    const letThrough = 50 - count(flooded, 429);
    expect(letThrough).toBeLessThanOrEqual(1);
    // Another request let through after them: once its row is there, every claim before it is too (SQLite writes them in order).
    expect((await call(brokers[0], '/api/token', other)).status).toBe(404);
    expect(await eventually(async () => (await nonceRows(account)) >= 2 + letThrough)).toBe(true);
    expect(await nonceRows(account)).toBe(2 + letThrough);
  });

  test('a request the limit refused (its nonce never claimed) is never let through later, on any instance', async () => {
    const { brokers } = await fleet(kind, { limits: { token: { perConnection: 2, perAccount: 100, windowMs: 1000 } } });
    const user = newUser('neighbour', { account_id: newAccount() });
    // Two fresh requests, then one to capture, until the capture is refused: all three in one window of a second.
    let captured: ((broker: TestBroker) => Promise<{ status: number }>) | undefined;
    for (let i = 0; i < 20 && !captured; i++) {
      await call(brokers[0], '/api/token', user);
      await call(brokers[0], '/api/token', user);
      const params = withNonce({});
      const signature = await sign(user, '/api/token', params);
      const send = (broker: TestBroker) => call(broker, '/api/token', user, params, signature);
      if ((await send(brokers[0])).status === 429) captured = send;
    }
    // Once the limit lets fresh requests through again, the captured one is still refused.
    expect(await eventually(async () => (await call(brokers[0], '/api/token', user)).status === 404, 15_000)).toBe(true);
    for (const broker of brokers) expect((await captured!(broker)).status).toBe(429);
  });
});

describe.each(KINDS)('request windows in storage (%s)', (kind) => {
  test("of 60 requests at once from 20 users, exactly the account's limit is counted; what each refused stays refused", async () => {
    const stores = kind === 'sqlite' ? [openSqliteStorage()] : [await connectPostgresStorage(postgres.url), await connectPostgresStorage(postgres.url)];
    try {
      const account = newAccount();
      const signedAt = Math.floor(Date.now() / 1000);
      // An hour's window: the whole burst falls in one.
      const request = (user: number): CountedRequest => ({
        signerKey: `token:test/${account}/usr_${user}`, accountKey: `token:test/${account}`, perSigner: 2, perAccount: 25, windowMs: 3_600_000, signedAt, validUntil: signedAt + 360,
      });
      const burst = Array.from({ length: 60 }, (_, i) => stores[i % stores.length].requestCounts.take(request(i % 20)));
      const taken = await Promise.all(burst);
      expect(taken.filter((t) => t.counted).length).toBe(25);
      // Every signer refused at `signedAt` is refused again for a signature that old, even with room made.
      const refusedUsers = [...new Set(taken.flatMap((t, i) => (t.counted ? [] : [i % 20])))];
      const counted = taken.flatMap((t, i) => (t.counted ? [{ user: i % 20, windowStart: t.windowStart }] : []));
      await Promise.all(counted.map(({ user, windowStart }) => stores[0].requestCounts.giveBack(request(user), windowStart)));
      for (const user of refusedUsers) expect((await stores[stores.length - 1].requestCounts.take(request(user))).counted).toBe(false);
      expect((await stores[0].requestCounts.take({ ...request(refusedUsers[0]), signedAt: signedAt + 1 })).counted).toBe(true);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});

describe('authentication first', () => {
  test('a request without a valid signature is a 401 whatever its body; a signed one is checked after', async () => {
    const [broker] = (await fleet('sqlite')).brokers;
    const user = newUser('hostile');
    const raw = (body: string, signature?: string) =>
      fetch(`${broker.url}/api/oauth/exchange`, { method: 'POST', headers: { 'content-type': 'application/json', ...(signature && { 'stripe-signature': signature }) }, body });
    const wrongSecret = await sign(user, '/api/oauth/exchange', {}, { secret: 'absec_not_the_apps' });
    const bodies = [
      JSON.stringify({ ...user }), // no nonce
      JSON.stringify({ ...user, nonce: 'short' }), // a malformed nonce
      JSON.stringify({ ...user, nonce: freshNonce(), surprise: 'field' }), // a parameter the route does not take
      JSON.stringify({ ...user, mode: 'neither', nonce: freshNonce() }),
      JSON.stringify({ user_id: 42, account_id: user.account_id, mode: 'test', nonce: freshNonce() }),
      JSON.stringify([user]),
      '{"not json',
    ];
    const answers: Array<[number, string]> = [];
    for (const body of bodies) {
      for (const signature of [undefined, wrongSecret]) {
        const res = await raw(body, signature);
        answers.push([res.status, ((await res.json()) as { error: { code: string } }).error.code]);
      }
    }
    expect(answers).toEqual(bodies.flatMap(() => [[401, 'invalid_signature'], [401, 'invalid_signature']]));
    // The same faults, signed: the parameters are checked once the signature verifies.
    for (const params of [{ surprise: 'field', nonce: freshNonce() }, {}, { nonce: 'short' }]) {
      const signed = await raw(JSON.stringify({ ...user, ...params }), await sign(user, '/api/oauth/exchange', params));
      expect([signed.status, ((await signed.json()) as { error: { code: string } }).error.code]).toEqual([400, 'invalid_request']);
    }
  });
});

describe.each(KINDS)('a Stripe event is handled once (%s)', (kind) => {
  /** A handler of `customer.updated` that counts its runs; the first waits until released, or fails. */
  function countingHandler(first: 'waits' | 'fails') {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handler = { runs: 0, release: () => release() };
    const run: StripeEventHandler = async () => {
      if (++handler.runs > 1) return;
      if (first === 'fails') throw new Error('the handler failed');
      await gate;
    };
    return { handler, overrides: { stripeEventHandlers: () => ({ 'customer.updated': run }) } };
  }
  let events = 0;
  const customerUpdated = () => ({ id: `evt_neighbours${Date.now()}x${++events}`, object: 'event', type: 'customer.updated', account: 'acct_events', livemode: false, data: { object: {} } });

  test('10 copies of one event delivered at once run its handler once; the others are asked to come back', async () => {
    const { handler, overrides } = countingHandler('waits');
    const { brokers } = await fleet(kind, overrides);
    const event = customerUpdated();
    const copies = Array.from({ length: 10 }, (_, i) => postStripeEvent(brokers[i % brokers.length], event));
    // The first copy's handler waits; every other copy answers meanwhile.
    const answered: number[] = [];
    copies.forEach((copy) => void copy.then((res) => answered.push(res.status)));
    const othersAnswered = await eventually(() => answered.length === 9, 15_000);
    handler.release();
    expect(othersAnswered).toBe(true);
    const statuses = (await Promise.all(copies)).map((res) => res.status);
    expect([handler.runs, count(statuses, 200), count(statuses, 409)]).toEqual([1, 1, 9]);
    // Delivered again later: acknowledged, not run.
    for (const broker of brokers) expect((await postStripeEvent(broker, event)).status).toBe(200);
    expect(handler.runs).toBe(1);
  });

  test('a failed handler is run again by the next delivery, and then never again', async () => {
    const { handler, overrides } = countingHandler('fails');
    const { brokers } = await fleet(kind, overrides);
    const event = customerUpdated();
    expect((await postStripeEvent(brokers[0], event)).status).toBe(500);
    expect((await postStripeEvent(brokers[brokers.length - 1], event)).status).toBe(200);
    expect((await postStripeEvent(brokers[0], event)).status).toBe(200);
    expect(handler.runs).toBe(2);
  });

  test('a handler that never ends (a crashed instance) holds the event only until its lease lapses; a later delivery handles it', async () => {
    const { handler, overrides } = countingHandler('waits');
    const { brokers } = await fleet(kind, { ...overrides, webhookLeaseSeconds: 1 });
    const event = customerUpdated();
    const hung = postStripeEvent(brokers[0], event);
    expect(await eventually(() => handler.runs === 1)).toBe(true);
    const later = brokers[brokers.length - 1];
    const retried = await eventually(async () => (await postStripeEvent(later, event)).status === 200, 15_000);
    const runs = handler.runs;
    handler.release();
    expect([retried, runs]).toEqual([true, 2]);
    expect((await hung).status).toBe(200);
    expect((await postStripeEvent(later, event)).status).toBe(200);
    expect(handler.runs).toBe(2);
  });
});
