/**
 * Registries made before connections had a provider open with every connection kept: it is the
 * unnamed provider's, and a named provider's connection of the same user sits beside it. The old
 * tables below are the schema of the version before (its connections and outbox tables).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { ConnectionId } from '../../src/common/connection-id';
import { CONNECTED, type Storage } from '../../server/storage/ports';
import { connectPostgresStorage } from '../../server/storage/postgres';
import { openSqliteStorage } from '../../server/storage/sqlite';
import { startPostgres, type TestPostgres } from '../support/fleet';

const OLD_TABLES = (t: (name: string) => string) => [
  `CREATE TABLE ${t('connections')} (
    account_id TEXT NOT NULL, user_id TEXT NOT NULL, mode TEXT NOT NULL,
    status TEXT NOT NULL, access_expires_at BIGINT, refresh_expires_at BIGINT,
    last_refresh_at BIGINT, failures INTEGER NOT NULL DEFAULT 0, outcome_unknown_at BIGINT,
    reason TEXT, claimed_until BIGINT, updated_at BIGINT NOT NULL, sealed_with TEXT, keep_alive_at BIGINT, subject TEXT, generation BIGINT,
    PRIMARY KEY (account_id, user_id, mode))`,
  `CREATE TABLE ${t('outbox')} (
    account_id TEXT NOT NULL, user_id TEXT NOT NULL, mode TEXT NOT NULL,
    generation BIGINT NOT NULL, sealed TEXT NOT NULL,
    PRIMARY KEY (account_id, user_id, mode))`,
  `INSERT INTO ${t('connections')} (account_id, user_id, mode, status, failures, updated_at, generation) VALUES ('acct_1', 'usr_1', 'test', 'connected', 0, 1, 7)`,
  `INSERT INTO ${t('outbox')} (account_id, user_id, mode, generation, sealed) VALUES ('acct_1', 'usr_1', 'test', 7, 'sealed-tokens')`,
];

const unnamed: ConnectionId = { accountId: 'acct_1', userId: 'usr_1', mode: 'test' };
const named: ConnectionId = { ...unnamed, provider: 'crm' };

async function expectKeptBesideNamed(storage: Storage): Promise<void> {
  expect(await storage.records.get(unnamed)).toMatchObject({ ...unnamed, status: 'connected', generation: 7 });
  expect(await storage.outbox.get(unnamed)).toEqual({ generation: 7, sealed: 'sealed-tokens' });
  await storage.records.put(named, { ...CONNECTED, generation: 1 });
  await storage.outbox.put(named, { generation: 1, sealed: 'other' });
  expect(await storage.records.get(named)).toMatchObject({ ...named, generation: 1 });
  expect((await storage.records.get(unnamed))?.generation).toBe(7);
  expect(await storage.outbox.connections()).toEqual(expect.arrayContaining([unnamed, named]));
  expect((await storage.records.list({})).map(({ accountId, userId, mode, provider }) => ({ accountId, userId, mode, ...(provider && { provider }) }))).toEqual([unnamed, named]);
}

describe('SQLite', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'provider-key-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a registry from before providers keeps its connection, and opens again', async () => {
    const file = path.join(dir, 'registry.sqlite');
    const db = new Database(file);
    for (const sql of OLD_TABLES((name) => name)) db.exec(sql);
    db.close();
    const storage = openSqliteStorage(file);
    try {
      await expectKeptBesideNamed(storage);
    } finally {
      await storage.close();
    }
    const again = openSqliteStorage(file);
    try {
      expect((await again.records.list({})).length).toBe(2);
    } finally {
      await again.close();
    }
  });
});

describe('PostgreSQL', () => {
  let postgres: TestPostgres;
  beforeAll(async () => (postgres = await startPostgres()), 90_000);
  afterAll(async () => postgres?.stop());

  test('a registry from before providers keeps its connection, and migrates once', async () => {
    const client = new Client({ connectionString: postgres.url });
    await client.connect();
    try {
      for (const sql of OLD_TABLES((name) => `broker_${name}`)) await client.query(sql);
    } finally {
      await client.end();
    }
    const storage = await connectPostgresStorage(postgres.url, 2);
    try {
      await expectKeptBesideNamed(storage);
    } finally {
      await storage.close();
    }
    const again = await connectPostgresStorage(postgres.url, 2);
    try {
      expect((await again.records.list({})).length).toBe(2);
    } finally {
      await again.close();
    }
  }, 60_000);
});
