/**
 * `npm run oauth-provider -- --port 9090 [--data FILE] [--access-ttl S] [--refresh-ttl S]
 *   [--rotate true|false] [--redirect-uri URI]... [--test-controls true]`: the dev OAuth provider alone.
 * Prints one line with its issuer URL; state persists in the SQLite file (default .data/oauth-provider.sqlite).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, parsePort, runCommand } from '../command';
import { startDevProvider } from './oauth-provider/provider';

function seconds(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number of seconds`);
  return n;
}

function bool(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw new Error(`--${name} must be true or false`);
  return value === 'true';
}

runCommand(async () => {
  const args = parseArgs(process.argv.slice(2), ['port', 'data', 'access-ttl', 'refresh-ttl', 'rotate', 'redirect-uri', 'test-controls']);
  const dbFile = args.data?.[0] ?? path.join(process.env.DATA_DIR ?? '.data', 'oauth-provider.sqlite');
  mkdirSync(path.dirname(dbFile), { recursive: true });
  const provider = await startDevProvider({
    port: parsePort(args.port?.[0], 9090),
    dbFile,
    accessTokenTtlSeconds: seconds(args['access-ttl']?.[0], 'access-ttl'),
    refreshTokenTtlSeconds: seconds(args['refresh-ttl']?.[0], 'refresh-ttl'),
    rotateRefreshTokens: bool(args.rotate?.[0], 'rotate'),
    redirectUris: args['redirect-uri'] ?? [],
    testControls: bool(args['test-controls']?.[0], 'test-controls'),
  });
  console.log(`Dev OAuth provider issuer ${provider.issuer}`);
  return () => provider.close();
});
