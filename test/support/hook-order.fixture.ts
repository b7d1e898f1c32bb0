// A test file that test/server/test-commands.test.ts runs as a jest run of its own (testMatch does
// not take it otherwise): its hook starts a command twice; it prints how the first ended, stopped in
// its afterAll, and the pid of the second, which it leaves running.
import { type RunningCommand, startCommand } from './commands';

let started: RunningCommand;
beforeAll(async () => {
  started = await startCommand(process.env.FIXTURE_COMMAND!, []);
  console.log(`left running: ${(await startCommand(process.env.FIXTURE_COMMAND!, [])).pid}`);
});
afterAll(async () => {
  console.log(`stopped with ${await started.stop()}`);
});

test('a command runs', () => expect(started.pid).toBeGreaterThan(0));
