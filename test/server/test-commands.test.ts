/**
 * A command the tests start (test/support/commands.ts) keeps nothing of the test process alive
 * once it has exited, even when a process it started lives on with its output: an orphaned
 * esbuild service of `npm start` once kept a whole run from ending.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startCommand } from '../support/commands';
import { eventually } from '../support/fixtures';

/** The pipes that keep this process alive. */
const pipes = () => process.getActiveResourcesInfo().filter((resource) => resource === 'PipeWrap').length;

test('a stopped command whose grandchild still holds its output keeps no pipe alive', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'test-commands-'));
  const script = path.join(dir, 'leaves-a-grandchild.js');
  // Prints a URL line once its grandchild (a minute's sleep, on the same stdout and stderr) runs, and its pid.
  writeFileSync(script, [
    "const { spawn } = require('node:child_process');",
    "const grandchild = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });",
    'console.log(`grandchild ${grandchild.pid} on http://127.0.0.1:9`);',
    'setInterval(() => {}, 1000);',
  ].join('\n'));
  const before = pipes();
  const command = await startCommand(path.relative(ROOT, script), []);
  const grandchild = Number(/grandchild (\d+)/.exec(command.output())![1]);
  try {
    expect(pipes()).toBeGreaterThan(before);
    await command.stop();
    expect(await eventually(() => pipes() === before, 10_000)).toBe(true);
  } finally {
    process.kill(grandchild, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
