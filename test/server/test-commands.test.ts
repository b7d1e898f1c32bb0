/**
 * The commands the tests start (test/support/commands.ts): one a file's hook started is still
 * running in the file's own afterAll, to be stopped there as the file chooses, and what it leaves
 * running is killed after (test/support/cleanup.ts); and once one has exited it keeps nothing of the test process
 * alive, even when a process it started lives on with its output (an orphaned esbuild service of
 * `npm start` once kept a whole run from ending).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../support/commands';

const folders: string[] = [];
afterAll(() => folders.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A command of `lines`, in a folder of its own: its path as startCommand takes it. */
function command(lines: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'test-commands-'));
  folders.push(dir);
  writeFileSync(path.join(dir, 'command.js'), lines.join('\n'));
  return path.relative(ROOT, path.join(dir, 'command.js'));
}

test('a command a file\'s hook started is still running in its afterAll, which stops it gracefully; one it left is killed after', () => {
  // test/support/hook-order.fixture.ts in a jest run of its own, with a command that exits with 0 on SIGTERM.
  const graceful = command(["console.log('on http://127.0.0.1:9');", 'setInterval(() => {}, 1000);', "process.on('SIGTERM', () => process.exit(0));"]);
  const fixture = 'test/support/hook-order.fixture.ts';
  const run = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), fixture, '--testMatch', `<rootDir>/${fixture}`], {
    cwd: ROOT,
    env: { ...process.env, FIXTURE_COMMAND: graceful },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const output = `${run.stdout}${run.stderr}`;
  expect(output).toMatch(/stopped with 0\b/);
  expect(run.status).toBe(0);
  const left = Number(/left running: (\d+)/.exec(output)![1]);
  expect(() => process.kill(left, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
});

test('a stopped command whose grandchild still holds its output keeps nothing alive: the process that started it ends', () => {
  // Its grandchild sleeps a minute on the same stdout and stderr; the URL line gives its pid.
  const leaving = command([
    "const { spawn } = require('node:child_process');",
    "const grandchild = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });",
    'console.log(`grandchild ${grandchild.pid} on http://127.0.0.1:9`);',
    'setInterval(() => {}, 1000);',
  ]);
  // A process of its own starts and stops it, then has nothing left to do.
  const starter = `require(${JSON.stringify(path.join(ROOT, 'test', 'support', 'commands.ts'))}).startCommand(${JSON.stringify(leaving)}, [])
    .then(async (started) => { console.log(started.output().trim()); await started.stop(); });`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', starter], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  const grandchild = /grandchild (\d+)/.exec(run.stdout)?.[1];
  if (grandchild) process.kill(Number(grandchild), 'SIGKILL');
  expect([grandchild !== undefined, run.signal, run.status]).toEqual([true, null, 0]);
});
