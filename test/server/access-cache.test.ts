/**
 * The warm path: fresh access tokens served from memory with no Secret Store request, and
 * never after a change — disconnect, deauthorization, refresh — on this instance or, through
 * PostgreSQL LISTEN/NOTIFY, on another. Counted at the emulator, through the real parts.
 */
import { Client } from 'pg';
import type { ConnectionId } from '../../src/common/connection-id';
import { entryBytes } from '../../server/broker/access-cache';
import { connectPostgresStorage } from '../../server/storage/postgres';
import { LISTENER_NAME } from '../../server/storage/postgres-notices';
import { CONNECTED } from '../../server/storage/ports';
import { newUser, sleep, User } from '../support/fixtures';
import { brokerSuite, startBroker, TestBroker } from '../support/in-process-broker';
import { call, connect, postStripeEvent } from '../support/signed-calls';
import type { Stack } from '../support/stack';
import { startPostgres } from '../support/fleet';

let stack: Stack;
let broker: TestBroker;
const findRequests = () => stack.emulator.requests['GET /v1/apps/secrets/find'] ?? 0;

brokerSuite((started) => ({ stack, broker } = started), { metricsToken: 'metrics-token-for-the-suite' });

test('a warm /api/token makes no Secret Store request', async () => {
  const user = newUser('cache');
  await connect(stack, broker, user);
  const first = await call(broker, '/api/token', user);
  const before = findRequests();
  for (let i = 0; i < 20; i++) expect((await call(broker, '/api/token', user)).body.access_token).toBe(first.body.access_token);
  expect(findRequests()).toBe(before);
});

test('a disconnect stops the cached token at once', async () => {
  const user = newUser('cache');
  await connect(stack, broker, user);
  await call(broker, '/api/token', user);
  expect((await call(broker, '/api/oauth/disconnect', user)).status).toBe(200);
  expect((await call(broker, '/api/token', user)).body.error!.code).toBe('not_connected');
});

test('an uninstall (deauthorization) stops the cached token at once', async () => {
  const user = newUser('cache', { account_id: 'acct_cacheuninstall' });
  await connect(stack, broker, user);
  await call(broker, '/api/token', user);
  const res = await postStripeEvent(broker, { id: 'evt_cache_deauth', object: 'event', type: 'account.application.deauthorized', account: user.account_id, livemode: false, data: { object: {} } });
  expect(res.status).toBe(200);
  expect((await call(broker, '/api/token', user)).body.error!.code).toBe('not_connected');
});

test('a cached token is not served into its refresh margin: the refreshed one is', async () => {
  const user = newUser('cache');
  await connect(stack, broker, user);
  const warm = await call(broker, '/api/token', user);
  stack.clock.offset += 45; // 60 s tokens: the margin is the last 30 s
  try {
    const refreshed = await call(broker, '/api/token', user);
    expect(refreshed.body.access_token).not.toBe(warm.body.access_token);
    const before = findRequests();
    expect((await call(broker, '/api/token', user)).body.access_token).toBe(refreshed.body.access_token);
    expect(findRequests()).toBe(before);
  } finally {
    stack.clock.offset = 0;
  }
});

test('the cache is bounded in bytes: the least recently used entry goes', async () => {
  // A bound that holds two of this provider's tokens, from the size of one.
  const sample = newUser('cache');
  await connect(stack, broker, sample);
  await call(broker, '/api/token', sample);
  const key = `test/${sample.account_id}/${sample.user_id}`;
  const bound = Math.floor(2.5 * entryBytes(key, broker.cache.lastKnown(key)!));
  const small = await startBroker(stack, { cacheBytes: bound });
  try {
    const three = [newUser('cache'), newUser('cache'), newUser('cache')];
    for (const user of three) {
      await connect(stack, small, user);
      await call(small, '/api/token', user);
    }
    expect(small.cache.size).toBe(2);
    expect(small.cache.bytes).toBeLessThanOrEqual(bound);
    const before = findRequests();
    await call(small, '/api/token', three[0]); // evicted: read again
    expect(findRequests()).toBe(before + 1);
  } finally {
    await small.stop();
  }
});

test('GET /metrics needs the bearer token and counts cache hits, refreshes and Secret Store calls', async () => {
  expect((await fetch(`${broker.url}/metrics`)).status).toBe(401);
  expect((await fetch(`${broker.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  const scrape = async () => {
    const res = await fetch(`${broker.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-for-the-suite' } });
    expect(res.status).toBe(200);
    return res.text();
  };
  const value = (text: string, series: string) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.slice(series.length + 1) ?? 0);
  const counted = [
    'broker_access_cache_total{result="hit"}',
    'broker_refreshes_total{outcome="refreshed"}',
    'broker_secret_store_requests_total{operation="find",result="ok"}',
    'broker_provider_requests_total{grant="authorization_code",result="ok"}',
    'broker_lock_wait_seconds_count',
  ];
  const before = await scrape();
  // Its own traffic, so the counts do not depend on the tests before it: a connect, a miss, a hit, a refresh.
  const user = newUser('cache');
  await connect(stack, broker, user);
  await call(broker, '/api/token', user);
  await call(broker, '/api/token', user);
  stack.clock.offset += 45; // into the refresh margin, as above
  try {
    expect((await call(broker, '/api/token', user)).status).toBe(200);
  } finally {
    stack.clock.offset = 0;
  }
  const after = await scrape();
  expect(counted.filter((series) => !(value(after, series) > value(before, series)))).toEqual([]);
  expect(after).toMatch(/broker_outbox_depth 0/);
});

describe('across instances on PostgreSQL', () => {
  let postgres: Awaited<ReturnType<typeof startPostgres>>;
  let a: TestBroker;
  let b: TestBroker;
  beforeAll(async () => {
    postgres = await startPostgres();
    const start = async () => startBroker(stack, { storage: await connectPostgresStorage(postgres.url) });
    [a, b] = [await start(), await start()];
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await postgres?.stop();
  });

  /** Waits (bounded) until `b` answers differently from `warm`: the notice travels asynchronously. */
  async function untilChanged(user: User, warm: string): Promise<{ status: number; token?: string; code?: string }> {
    for (let i = 0; ; i++) {
      const answer = await call(b, '/api/token', user);
      const now = { status: answer.status, token: answer.body.access_token as string | undefined, code: answer.body.error?.code };
      if (now.token !== warm || i >= 100) return now;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  test('a disconnect on one instance stops the others serving the cached token', async () => {
    const user = newUser('cache');
    await connect(stack, a, user);
    const warm = (await call(b, '/api/token', user)).body.access_token as string;
    const id: ConnectionId = { accountId: user.account_id, userId: user.user_id, mode: 'test' };
    expect(b.cache.get(`test/${id.accountId}/${id.userId}`, stack.now())?.access_token).toBe(warm);
    expect((await call(a, '/api/oauth/disconnect', user)).status).toBe(200);
    expect(await untilChanged(user, warm)).toMatchObject({ status: 404, code: 'not_connected' });
  });

  test('while the notification connection is down nothing is cached: a disconnect elsewhere then is never undone', async () => {
    const [user, probe] = [newUser('cache'), newUser('cache')];
    await connect(stack, a, user);
    await connect(stack, a, probe);
    const warm = (await call(b, '/api/token', user)).body.access_token as string;
    // Every instance's LISTEN connection is cut, as a network blip or a database restart would.
    const admin = new Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [LISTENER_NAME]);
    await admin.end();
    // While they reconnect, b reads the token again (and must not keep it), then a disconnects: b misses the notice.
    expect((await call(b, '/api/token', user)).body.access_token).toBe(warm);
    expect((await call(a, '/api/oauth/disconnect', user)).status).toBe(200);
    // Read until b caches again (the probe's token, read alongside): its LISTEN connection is back; then once more.
    const probeCached = () => b.cache.get(`test/${probe.account_id}/${probe.user_id}`, stack.now()) !== undefined;
    const served: string[] = [];
    for (let reads = 0, back = false; reads < 200 && !back; reads++, await sleep(50)) {
      back = probeCached();
      const answer = await call(b, '/api/token', user);
      if (answer.body.access_token === warm) served.push('the disconnected token');
      await call(b, '/api/token', probe);
    }
    expect(probeCached()).toBe(true);
    expect(served).toEqual([]);
  });

  test('keep-alive: two instances claiming due connections at once never get the same one', async () => {
    const now = stack.now();
    const due = Array.from({ length: 12 }, (_, i) => ({ accountId: 'acct_keepalive', userId: `usr_idle${i}`, mode: 'test' as const }));
    for (const c of due) await a.storage.records.put(c, { ...CONNECTED, lastRefreshAt: now - 7200, keepAliveAt: now - 3600 });
    const [fromA, fromB] = await Promise.all([a.storage.keepAlive.claimDue(now, 12, 60), b.storage.keepAlive.claimDue(now, 12, 60)]);
    const keys = [...fromA, ...fromB].map((c) => c.userId).filter((id) => id?.startsWith('usr_idle'));
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(due.map((c) => c.userId).sort());
    // Claimed: nobody gets them again until the claim lapses.
    expect((await a.storage.keepAlive.claimDue(now, 12, 60)).filter((c) => c.userId?.startsWith('usr_idle'))).toEqual([]);
  });

  test('a refresh on one instance replaces the token the others serve', async () => {
    const user = newUser('cache');
    await connect(stack, a, user);
    const warm = (await call(b, '/api/token', user)).body.access_token as string;
    // Another instance refreshes (its own single-flight, the shared lock): keep-alive does this, for one.
    await a.engine.keepAlive({ accountId: user.account_id, userId: user.user_id, mode: 'test' }, () => true);
    const after = await untilChanged(user, warm);
    expect(after.status).toBe(200);
    expect(after.token).not.toBe(warm);
  });
});
