/**
 * Keep-alive keeps its cadence, as `npm start` runs it (60 s access tokens, KEEP_ALIVE_SECONDS=45):
 * an idle connection is refreshed each time its due time comes, before its access token runs
 * out, on SQLite and on PostgreSQL. The clock moves only to each due time, never past it.
 */
import type { ConnectionId } from '../../src/common/connection-id';
import { keepAliveIntervalMs } from '../../server/broker/defaults';
import { connectPostgresStorage } from '../../server/storage/postgres';
import { openSqliteStorage } from '../../server/storage/sqlite';
import type { Storage } from '../../server/storage/ports';
import { refreshCount } from '../support/dev-provider';
import { eventually, newUser } from '../support/fixtures';
import { startPostgres, type TestPostgres } from '../support/fleet';
import { startBroker } from '../support/in-process-broker';
import { connect } from '../support/signed-calls';
import { type Stack, stackSuite } from '../support/stack';

let stack: Stack;
let postgres: TestPostgres | undefined;

stackSuite(['--access-ttl', '60'], (started) => (stack = started));
afterEach(() => (stack.clock.offset = 0));
afterAll(async () => postgres?.stop());

const storages: Array<[string, () => Promise<Storage>]> = [
  ['SQLite', async () => openSqliteStorage()],
  ['PostgreSQL', async () => connectPostgresStorage((postgres ??= await startPostgres()).url)],
];

test.each(storages)('%s: three keep-alive refreshes in a row, each when due (45 s idle), none after its access token ran out', async (_name, storage) => {
  const broker = await startBroker(stack, { storage: await storage(), background: { keepAliveIdleSeconds: 45, keepAliveIntervalMs: 100 } });
  try {
    const user = newUser('cadence');
    const id: ConnectionId = { accountId: user.account_id, userId: user.user_id, mode: user.mode };
    await connect(stack, broker, user);
    const refreshes = await refreshCount(stack);
    for (let cycle = 1; cycle <= 3; cycle++) {
      const before = (await broker.storage.records.get(id))!;
      // Due within the idle time, before the access token it has runs out.
      expect(before.keepAliveAt! - before.lastRefreshAt!).toBeLessThanOrEqual(45);
      expect(before.keepAliveAt!).toBeLessThan(before.accessExpiresAt!);
      stack.clock.offset += Math.max(0, before.keepAliveAt! - stack.now());
      // Refreshed at its due time: the last refresh's claim does not hold it back.
      expect(await eventually(async () => (await broker.storage.records.get(id))!.lastRefreshAt! > before.lastRefreshAt!, 20_000)).toBe(true);
      expect(await refreshCount(stack)).toBe(refreshes + cycle);
    }
  } finally {
    await broker.stop();
  }
}, 120_000);

test('keep-alive looks every 5 s, or every half of an idle time shorter than 10 s, so a short one is not overshot by a whole round', () => {
  expect([keepAliveIntervalMs(86_400), keepAliveIntervalMs(45), keepAliveIntervalMs(10), keepAliveIntervalMs(2), keepAliveIntervalMs(0)]).toEqual([5000, 5000, 5000, 1000, 5000]);
});
