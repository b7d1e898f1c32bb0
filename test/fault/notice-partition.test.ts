/**
 * The change-notice connection going silent — a partition between an instance and PostgreSQL that
 * drops every packet and closes nothing — through the real parts: two backends on a real
 * PostgreSQL, the second listening through a proxy that goes silent. Its heartbeat finds the
 * silence, so nothing is served from its cache while notices may be missed, and once a new
 * listening connection works it caches, and hears changes, again.
 */
import { Pool } from 'pg';
import { connectionKey } from '../../src/common/connection-id';
import { connectPostgresStorage } from '../../server/storage/postgres';
import { PostgresNotices } from '../../server/storage/postgres-notices';
import type { Storage } from '../../server/storage/ports';
import { eventually, newUser, type User } from '../support/fixtures';
import { startPostgres, type TestPostgres } from '../support/fleet';
import { startBroker, type TestBroker } from '../support/in-process-broker';
import { call, connect } from '../support/signed-calls';
import { startSilentProxy, type SilentProxy } from '../support/silent-proxy';
import { type Stack, stackSuite } from '../support/stack';

jest.setTimeout(90_000);

let stack: Stack;
let postgres: TestPostgres;
let proxy: SilentProxy;
let a: TestBroker;
let b: TestBroker;
stackSuite(undefined, (started) => (stack = started));

/** PostgreSQL storage whose change notices listen through the proxy (everything else goes direct), heartbeat every 500 ms. */
async function listeningThroughProxy(): Promise<Storage> {
  const storage = await connectPostgresStorage(postgres.url);
  const url = new URL(postgres.url);
  url.port = String(proxy.port);
  const pool = new Pool({ connectionString: postgres.url, max: 1 });
  const notices = new PostgresNotices(pool, url.toString(), { heartbeatMs: 500 });
  return {
    ...storage,
    notices,
    close: async () => {
      await notices.close();
      await pool.end();
      await storage.close();
    },
  };
}

// The test asks b for the token until it answers as expected: more often than the route's limit allows.
const limits = { token: { perConnection: 10_000, perAccount: 10_000, windowMs: 60_000 } };
beforeAll(async () => {
  postgres = await startPostgres();
  const url = new URL(postgres.url);
  proxy = await startSilentProxy({ host: url.hostname, port: Number(url.port) });
  a = await startBroker(stack, { storage: await connectPostgresStorage(postgres.url), limits });
  b = await startBroker(stack, { storage: await listeningThroughProxy(), limits });
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await proxy?.close();
  await postgres?.stop();
});

const idOf = (user: User) => ({ accountId: user.account_id, userId: user.user_id, mode: user.mode });
/** What `b` answers for the user, and whether it then holds the user's token in its cache. */
async function askB(user: User): Promise<{ token?: string; code?: string; cached: boolean }> {
  const answer = await call(b, '/api/token', user);
  const cached = b.cache.get(connectionKey(idOf(user)), stack.now()) !== undefined;
  return { token: answer.body.access_token as string | undefined, code: answer.body.error?.code, cached };
}

test('a silent change-notice connection is found: nothing is served from the cache until a new one works', async () => {
  const user = newUser('partition');
  expect((await connect(stack, a, user)).status).toBe(200);
  // b's notices are live: it caches the token.
  let warm: string | undefined;
  expect(await eventually(async () => {
    const answer = await askB(user);
    warm = answer.token;
    return answer.cached;
  }, 20_000)).toBe(true);

  proxy.silence();
  // Another instance replaces the token; its notice cannot reach b.
  await a.engine.keepAlive(idOf(user), () => true);
  // b finds its listening connection silent and drops its cache: the new token, not the cached one.
  expect(await eventually(async () => ![undefined, warm].includes((await askB(user)).token), 20_000)).toBe(true);
  const whileSilent = await askB(user);
  expect([typeof whileSilent.token, whileSilent.token === warm]).toEqual(['string', false]);
  // While the path stays silent no listening connection works, so nothing is cached.
  expect(whileSilent.cached).toBe(false);

  proxy.resume();
  // A listening connection works again: b caches, and hears the next change made elsewhere.
  expect(await eventually(async () => (await askB(user)).cached, 30_000)).toBe(true);
  expect((await call(a, '/api/oauth/disconnect', user)).status).toBe(200);
  expect(await eventually(async () => (await askB(user)).code === 'not_connected')).toBe(true);
});
