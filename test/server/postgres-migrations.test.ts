/**
 * Start-up migrations on PostgreSQL: an instance starting beside a running fleet takes no table
 * lock (an ALTER TABLE takes an exclusive one even when it changes nothing, and held up — or
 * deadlocked with — the fleet's requests); a schema behind its version is migrated.
 */
import { Client } from 'pg';
import { connectPostgresStorage } from '../../server/storage/postgres';
import { startPostgres, type TestPostgres } from '../support/fleet';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(() => postgres?.stop());

async function withClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: postgres.url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

test('an instance starting beside a running fleet waits for none of its requests: no migration runs on a current schema', async () => {
  await (await connectPostgresStorage(postgres.url)).close();
  // A request under way elsewhere: its transaction holds the outbox tables as a flush's statement does.
  await withClient(async (fleet) => {
    await fleet.query('BEGIN');
    await fleet.query('LOCK TABLE broker_outbox, broker_outbox_answers IN ROW EXCLUSIVE MODE');
    try {
      // Its ALTER TABLEs would wait for that transaction (and fail on the pool's 10 s query timeout).
      const starting = await connectPostgresStorage(postgres.url);
      await starting.close();
    } finally {
      await fleet.query('ROLLBACK');
    }
  });
});

test('a schema behind the migrations is migrated at start-up, and its version recorded', async () => {
  await (await connectPostgresStorage(postgres.url)).close();
  const version = () => withClient(async (c) => (await c.query("SELECT value FROM broker_settings WHERE name = 'schema_version'")).rows[0]?.value);
  const current = await version();
  expect(current).toMatch(/^[0-9a-f]{16}$/);
  // An older schema: a table a later migration added is missing, and the version is the older one.
  await withClient(async (c) => {
    await c.query('DROP TABLE broker_budget');
    await c.query("UPDATE broker_settings SET value = 'an-older-one' WHERE name = 'schema_version'");
  });
  await (await connectPostgresStorage(postgres.url)).close();
  expect(await version()).toBe(current);
  expect(await withClient(async (c) => (await c.query("SELECT to_regclass('broker_budget') IS NOT NULL AS made")).rows[0].made)).toBe(true);
});
