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
import { openSync, closeSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
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
  url: string;
  pid: number;
  log: string;
}

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

/**
 * The service named `name` for this worker: the one started earlier in the run when it is still
 * alive, else `script args` started now (a project command, as commands.ts starts them).
 */
export async function sharedService(name: string, script: string, args: string[], timeoutMs = 60_000): Promise<SharedService> {
  const runDir = process.env[RUN_DIR_VARIABLE];
  if (!runDir) throw new Error(`${RUN_DIR_VARIABLE} is not set: run the suite through jest (npm test)`);
  const file = path.join(runDir, `w${process.env.JEST_WORKER_ID ?? '1'}-${name.replace(/[^a-z0-9-]/gi, '_')}.json`);
  if (existsSync(file)) {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as Entry;
    if (alive(entry.pid)) return { url: entry.url, pid: entry.pid, output: () => readFileSync(entry.log, 'utf8') };
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
  const output = () => readFileSync(log, 'utf8');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = URL_LINE.exec(output());
    if (match) {
      const entry: Entry = { url: match[1], pid: child.pid!, log };
      writeFileSync(file, JSON.stringify(entry));
      return { url: entry.url, pid: entry.pid, output };
    }
    if (child.exitCode !== null || child.signalCode !== null || !alive(child.pid!)) {
      throw new Error(`${script} exited before printing its URL:\n${output()}`);
    }
    if (Date.now() > deadline) {
      process.kill(child.pid!, 'SIGKILL');
      throw new Error(`${script} printed no URL within ${timeoutMs} ms:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
