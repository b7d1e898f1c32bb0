/**
 * Loaded into every test file (jest's setupFilesAfterEnv): a child process a test started and
 * left running (a test that failed or timed out before its own clean-up) is killed after that
 * test, and whatever a file's hooks started and left running is killed after the file's own
 * afterAll hooks (test/support/node-environment.cjs), so nothing a test started
 * outlives it to disturb the next one. SIGCONT first, for one left paused.
 */
import { children } from './commands';

async function killAll(started: (test: string | undefined) => boolean): Promise<void> {
  const left = [...children].filter(([, test]) => started(test)).map(([child]) => child);
  await Promise.all(left.map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }));
}

afterEach(() => {
  const test = expect.getState().currentTestName;
  return killAll((startedBy) => startedBy !== undefined && startedBy === test);
});
// After the file's own afterAll hooks (node-environment.cjs calls this), not before them.
(globalThis as Record<symbol, unknown>)[Symbol.for('broker-test.killLeftovers')] = () => killAll(() => true);
