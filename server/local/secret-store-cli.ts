/**
 * `npm run secret-store -- --port 12111 [--data FILE]`: the Secret Store emulator alone.
 * Prints one line with its URL; state persists in the SQLite file (default .data/secret-store.sqlite).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, parsePort, runCommand } from '../command';
import { SecretStoreEmulator } from './secret-store/emulator';

runCommand(async () => {
  const args = parseArgs(process.argv.slice(2), ['port', 'data']);
  const port = parsePort(args.port?.[0], 12111);
  const dbFile = args.data?.[0] ?? path.join(process.env.DATA_DIR ?? '.data', 'secret-store.sqlite');
  mkdirSync(path.dirname(dbFile), { recursive: true });
  const emulator = new SecretStoreEmulator({ dbFile });
  const url = await emulator.listen(port);
  console.log(`Secret Store emulator listening on ${url}`);
  return () => emulator.close();
});
