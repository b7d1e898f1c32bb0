/** After the run: every shared service stopped (SIGTERM, then SIGKILL after 10 s), and the run's folder removed. */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { alive, RUN_DIR_VARIABLE } from './shared-services';

export default async function globalTeardown(): Promise<void> {
  const runDir = process.env[RUN_DIR_VARIABLE];
  if (!runDir) return;
  const pids = readdirSync(runDir).filter((f) => f.endsWith('.json')).map((f) => (JSON.parse(readFileSync(path.join(runDir, f), 'utf8')) as { pid: number }).pid);
  for (const pid of pids.filter(alive)) {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
  rmSync(runDir, { recursive: true, force: true });
}
