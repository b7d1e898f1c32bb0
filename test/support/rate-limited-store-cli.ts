/** `tsx test/support/rate-limited-store-cli.ts --target URL --per-second R`: the rate-limited proxy as a process (for the benchmark). */
import { parseArgs, runCommand } from '../../server/command';
import { startRateLimitedStore } from './rate-limited-store';

runCommand(async () => {
  const args = parseArgs(process.argv.slice(2), ['target', 'per-second']);
  const perSecond = Number(args['per-second']?.[0]);
  if (!args.target?.[0] || !Number.isInteger(perSecond) || perSecond < 1) throw new Error('usage: --target URL --per-second R');
  const store = await startRateLimitedStore(args.target[0], perSecond);
  console.log(`Rate-limited Secret Store listening on ${store.url}`);
  return () => store.close();
});
