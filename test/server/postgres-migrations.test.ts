/**
 * Start-up migrations on PostgreSQL: an instance starting beside a running fleet, on a schema as
 * new as its code or newer, takes no table lock (an ALTER TABLE takes an exclusive one even when
 * it changes nothing, and held up — or deadlocked with — the fleet's requests); a schema that
 * lacks one of its migrations is migrated.
 */
import { Client } from 'pg';
import { connectPostgresStorage } from '../../server/storage/postgres';
import { startPostgres, type TestPostgres } from '../support/fleet';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(() => postgres?.stop());

const applied = () => withClient(async (c) => (await c.query("SELECT value FROM broker_settings WHERE name = 'migrations_applied'")).rows[0]?.value as string);

async function withClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: postgres.url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

test('an instance starting beside a running fleet waits for none of its requests: no migration runs on a current or newer schema', async () => {
  await (await connectPostgresStorage(postgres.url)).close();
  // Newer than this code (a rollback, or an older instance restarting mid-deploy): a migration it does not know has run.
  const newer = `${await applied()},a-later-migration`;
  await withClient((c) => c.query("UPDATE broker_settings SET value = $1 WHERE name = 'migrations_applied'", [newer]));
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
  expect(await applied()).toBe(newer);
});

test('a schema that lacks a migration is migrated at start-up, and the migration recorded', async () => {
  await (await connectPostgresStorage(postgres.url)).close();
  const recorded = (await applied()).split(',');
  expect(recorded[0]).toMatch(/^[0-9a-f]{12}$/);
  // An older schema: a table is missing, and the first migration is not recorded.
  await withClient(async (c) => {
    await c.query('DROP TABLE broker_budget');
    await c.query("UPDATE broker_settings SET value = $1 WHERE name = 'migrations_applied'", [recorded.slice(1).join(',')]);
  });
  await (await connectPostgresStorage(postgres.url)).close();
  expect((await applied()).split(',').sort()).toEqual([...recorded].sort());
  expect(await withClient(async (c) => (await c.query("SELECT to_regclass('broker_budget') IS NOT NULL AS made")).rows[0].made)).toBe(true);
});
