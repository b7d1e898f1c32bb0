/**
 * The benchmark's crash-window scenario. Five connections with 3 s access tokens are called
 * continuously, so each is refreshed every second or two by a backend started as in production
 * (SQLite in DATA_DIR), with rotation on and a provider that revokes the grant when a spent
 * refresh token comes back. It reports, from the backend's `refresh` lines, how long each answer
 * was at risk — the request at the provider (sent to the answer's last byte), then the answer
 * until it was kept (and until its tokens were committed) — quiet and beside two CPU-bound
 * processes the bench starts itself. Then, with those
 * still running, it SIGKILLs the backend (`BENCH_KILLS` times, 100 by default) and restarts it
 * on the same data, and counts the connections lost and why; a lost one is replaced by a new
 * connection, so five stay under refresh. Each kill comes at a random moment of the steady
 * refresh cycle: once every connection has been served by the restarted backend (a restart
 * outlasts the tokens, so each restart begins with all five refreshing at once), then after a
 * random wait of up to 1.5 s, about one refresh cycle.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import { refreshCount, startTestProvider, type TestProvider } from '../support/dev-provider';
import { eventually, newUser, sleep, type User } from '../support/fixtures';
import type { RunningCommand } from '../support/commands';
import { backendEnv, DASHBOARD_REDIRECT, startBackendProcess } from '../support/fleet';
import { call, connect } from '../support/signed-calls';

export interface CrashWindowScenario {
  emulatorUrl: string;
  dataDir: string;
  env: Record<string, string>;
  kills: number;
}

const CONNECTIONS = 5;
/** How long each window measurement runs. */
const MEASURE_MS = 15_000;

interface RefreshLine {
  msg: string;
  outcome: string;
  providerMs?: number;
  keptMs?: number;
  committedMs?: number;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const ms = (values: number[]) => `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms`;

/** The `refresh` lines a backend printed that say how long the answer was at risk. */
const refreshLines = (output: string): RefreshLine[] =>
  output.split('\n').filter((l) => l.startsWith('{') && l.includes('"msg":"refresh"')).map((l) => JSON.parse(l) as RefreshLine).filter((l) => l.keptMs !== undefined);

function windowLine(label: string, lines: RefreshLine[], seconds: number): string {
  const of = (field: 'providerMs' | 'keptMs' | 'committedMs') => lines.map((l) => l[field]!).filter((v) => v !== undefined);
  return `crash window, ${label} (${lines.length} refreshes, ${(lines.length / seconds).toFixed(1)}/s, load average ${os.loadavg()[0].toFixed(1)}): answer's last byte → kept ${ms(of('keptMs'))}; → committed ${ms(of('committedMs'))}; request sent → answer's last byte ${ms(of('providerMs'))}`;
}

/** Two processes that spin forever, for a machine with no idle core. */
function startHogs(): ChildProcess[] {
  return [0, 1].map(() => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
}

export async function crashWindow(s: CrashWindowScenario): Promise<string[]> {
  const report: string[] = [];
  const provider: TestProvider = await startTestProvider(['--access-ttl', '3']);
  const parts = { emulatorUrl: s.emulatorUrl, provider };
  const env = backendEnv(parts, { ...s.env, DATA_DIR: s.dataDir, LOG_LEVEL: 'info', REFRESH_WAIT_SECONDS: '3' });
  let backend: RunningCommand = await startBackendProcess(env);
  let hogs: ChildProcess[] = [];
  // Each connection as the caller sees it; a lost one's reason, by user.
  const lost = new Map<string, string>();
  // When each caller last got a token.
  const served: number[] = [];
  let running = true;
  const connected = async (): Promise<User> => {
    for (;;) {
      const user = newUser('window');
      const answer = await connect(parts, backend, user, { redirectUri: DASHBOARD_REDIRECT }).catch(() => undefined);
      if (answer?.status === 200) return user;
      await sleep(200);
    }
  };
  const reasonOf = async (user: User) => (await call(backend, '/api/connection/status', user).catch(() => undefined))?.body.reason as string | undefined;
  const users = await Promise.all(Array.from({ length: CONNECTIONS }, connected));
  const callers = users.map(async (_, i) => {
    while (running) {
      const answer = await call(backend, '/api/token', users[i]).catch(() => undefined);
      if (answer?.status === 200) served[i] = Date.now();
      if (answer?.body.error?.code === 'reconnect_required') {
        lost.set(users[i].user_id, (await reasonOf(users[i])) ?? 'unknown');
        users[i] = await connected();
      }
      await sleep(100 + Math.random() * 100);
    }
  });
  const measure = async (label: string) => {
    const from = backend.output().length;
    await sleep(MEASURE_MS);
    report.push(windowLine(label, refreshLines(backend.output().slice(from)), MEASURE_MS / 1000));
  };
  try {
    await measure('quiet');
    hogs = startHogs();
    await measure('two CPU hogs beside it');
    const started = Date.now();
    const refreshesBefore = await refreshCount(parts);
    let restartMs = 0;
    for (let kill = 0; kill < s.kills; kill++) {
      const restarted = Date.now();
      await eventually(() => users.every((_, i) => served[i] > restarted), 20_000);
      await sleep(Math.random() * 1500);
      await backend.kill();
      const restarting = Date.now();
      backend = await startBackendProcess(env);
      restartMs += Date.now() - restarting;
    }
    // Every connection refreshed at least once after the last restart: a loss shows by then.
    await sleep(6000);
    running = false;
    await Promise.all(callers);
    for (const user of users) {
      const reason = await reasonOf(user);
      if (reason) lost.set(user.user_id, reason);
    }
    const seconds = (Date.now() - started) / 1000;
    const refreshes = (await refreshCount(parts)) - refreshesBefore;
    const reasons: Record<string, number> = {};
    for (const reason of lost.values()) reasons[reason] = (reasons[reason] ?? 0) + 1;
    report.push(
      `SIGKILLs at random moments with two CPU hogs: ${lost.size} connections lost in ${s.kills} kills (${((lost.size / Math.max(1, s.kills)) * 100).toFixed(1)} per 100; ` +
        `${JSON.stringify(reasons)}), ${(refreshes / seconds).toFixed(1)} refreshes/s over ${seconds.toFixed(0)} s, a restart ${(restartMs / Math.max(1, s.kills)).toFixed(0)} ms on average`,
    );
    return report;
  } finally {
    running = false;
    for (const hog of hogs) hog.kill('SIGKILL');
    await backend.stop();
    await provider.stop();
  }
}
