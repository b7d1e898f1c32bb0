/**
 * The expensive helpers a suite needs (the test PostgreSQL, the dev provider in each
 * configuration) started once per jest worker and kept for the whole run, instead of once per
 * file: test/support/global-setup.ts makes a folder for the run, each service's URL and pid are
 * written there, and test/support/global-teardown.ts stops them all. Files of one worker run one
 * after another, so a suite has its service to itself while it runs; each suite resets what it
 * shares (a database of its own, the provider's faults and counts).
 *
 * A service runs detached with its output in a file, so no test file's handles hold it; it
 * exits by itself when the jest process that owns the run is gone (test/support/exit-with-owner.cjs).
 * Outside jest (the benchmark) there is no run folder, and each caller starts its own.
 */
import { openSync, closeSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, URL_LINE } from './commands';

export const RUN_DIR_VARIABLE = 'BROKER_TEST_RUN_DIR';
export const OWNER_PID_VARIABLE = 'BROKER_TEST_OWNER_PID';

export interface SharedService {
  url: string;
  pid: number;
  /** What it printed so far. */
  output: () => string;
}

interface Entry {
  /** Unknown while it starts. */
  url?: string;
  pid: number;
  log: string;
}

/** A service's name, its script (a project command) and the script's arguments. */
export type ServiceSpec = [name: string, script: string, args: string[]];

/** Whether process `pid` still runs. */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Whether this process runs under the suite's jest configuration (a run folder exists). */
export const sharing = () => Boolean(process.env[RUN_DIR_VARIABLE]);

/** The run's folder (global-setup.ts makes it, global-teardown.ts removes it with what is in it). */
export function runDir(): string {
  const dir = process.env[RUN_DIR_VARIABLE];
  if (!dir) throw new Error(`${RUN_DIR_VARIABLE} is not set: run the suite through jest (npm test)`);
  return dir;
}

/** The dev provider (test controls on) with `args`, as a service of the run: its name, script and arguments. */
export function providerService(args: string[]): ServiceSpec {
  return [`provider${args.join('')}`, 'server/local/oauth-provider-cli.ts', ['--port', '0', '--data', ':memory:', '--test-controls', 'true', ...args]];
}
export const POSTGRES_SERVICE: ServiceSpec = ['postgres', 'test/support/postgres-cli.ts', []];
/** The suites' usual provider (minute-long access tokens): one process serves every suite that takes it. */
export const USUAL_PROVIDER_ARGS = ['--access-ttl', '60'];
/** What most fault suites take besides: the test PostgreSQL and these providers (test/support/global-setup.ts starts them early). */
export const COMMON_SERVICES: ServiceSpec[] = [POSTGRES_SERVICE, ...[USUAL_PROVIDER_ARGS, ['--access-ttl', '3'], ['--access-ttl', '2'], ['--access-ttl', '4'], ['--access-ttl', '600']].map(providerService)];

/** The entry is written at once (the URL still unknown) so that a later caller waits for this start instead of making another. */
function register(file: string, entry: Partial<Entry>): void {
  // Whole or not at all: the starter and a waiter (another process, with workers) may both write it.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(entry));
  renameSync(temporary, file);
}

/**
 * The service named `name` for this worker: the one started earlier in the run when it is still
 * alive (waiting for its URL when it is still starting), else `script args` started now (a
 * project command, as commands.ts starts them).
 */
export async function sharedService(name: string, script: string, args: string[], timeoutMs = 60_000): Promise<SharedService> {
  const file = path.join(runDir(), `w${process.env.JEST_WORKER_ID ?? '1'}-${name.replace(/[^a-z0-9-]/gi, '_')}.json`);
  if (existsSync(file)) {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as Entry;
    if (alive(entry.pid)) return entry.url ? { url: entry.url, pid: entry.pid, output: () => readFileSync(entry.log, 'utf8') } : untilListening(file, entry, script, timeoutMs);
  }
  const log = file.replace(/\.json$/, '.log');
  const fd = openSync(log, 'w', 0o600);
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, ['--require', path.join(__dirname, 'exit-with-owner.cjs'), ...loader, path.join(ROOT, script), ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  child.unref();
  const entry = { pid: child.pid!, log };
  register(file, entry);
  return untilListening(file, entry, script, timeoutMs);
}

/** Waits until the service's log shows its URL, then registers it; kills it if it never does. */
async function untilListening(file: string, { pid, log }: Pick<Entry, 'pid' | 'log'>, script: string, timeoutMs: number): Promise<SharedService> {
  const output = () => readFileSync(log, 'utf8');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = URL_LINE.exec(output());
    if (match) {
      register(file, { url: match[1], pid, log });
      return { url: match[1], pid, output };
    }
    if (!alive(pid)) throw new Error(`${script} exited before printing its URL:\n${output()}`);
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      throw new Error(`${script} printed no URL within ${timeoutMs} ms:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
