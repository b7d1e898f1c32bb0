/**
 * `npm run backend`: the broker backend from the environment (README, Configuration).
 * Missing or malformed settings stop start-up with a line naming each, all at once.
 */
import { startBackend } from './backend';
import { loadConfig } from './config';
import { runCommand } from './command';

// Files the backend makes (the database's journals) are this user's alone.
process.umask(0o077);

runCommand(async () => {
  const backend = await startBackend(loadConfig());
  console.log(`Broker backend listening on ${backend.url}`);
  return backend.stop;
});
