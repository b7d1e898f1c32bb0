/**
 * `npm run backend`: the broker backend from the environment (README, Configuration).
 * A missing or malformed setting stops start-up with one line naming it.
 */
import { startBackend } from './backend';
import { loadConfig } from './config';
import { runCommand } from './command';

runCommand(async () => {
  const backend = await startBackend(loadConfig());
  console.log(`Broker backend listening on ${backend.url}`);
  return backend.stop;
});
