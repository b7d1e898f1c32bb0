/**
 * `npm run bench`: the broker's hot paths on this machine, against the real parts (emulator,
 * dev provider, backend over loopback HTTP). Prints a Markdown table for the README.
 * Timing goals live here, never in tests.
 */
import { performance } from 'node:perf_hooks';
import { call, connect, refreshCount, startBroker, startStack, User } from '../support/broker';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function timed(n: number, concurrency: number, run: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await run(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { n, perSecond: n / seconds, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) };
}

async function main() {
  const stack = await startStack(['--access-ttl', '3600']);
  const broker = await startBroker(stack);
  const rows: string[] = [];
  const row = (name: string, r: Awaited<ReturnType<typeof timed>>, note = '') =>
    rows.push(`| ${name} | ${r.n} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${note} |`);
  const ok = (answer: { status: number }) => {
    if (answer.status !== 200) throw new Error(`unexpected ${answer.status}`);
  };

  try {
    const users: User[] = Array.from({ length: 50 }, (_, i) => ({ user_id: `usr_bench${i}`, account_id: 'acct_bench', mode: 'test' }));
    const exchange = await timed(users.length, 5, async (i) => ok(await connect(stack, broker, users[i])));
    row('connect (provider login + consent + exchange + 2 secret writes)', exchange);

    row('`/api/token`, fresh token, 1 client', await timed(2000, 1, async (i) => ok(await call(broker, '/api/token', users[i % users.length]))));
    row('`/api/token`, fresh token, 20 concurrent clients', await timed(4000, 20, async (i) => ok(await call(broker, '/api/token', users[i % users.length]))));

    stack.clock.offset += 4000;
    const before = await refreshCount(stack);
    row('`/api/token` that refreshes (50 expired connections, 5 at a time)', await timed(users.length, 5, async (i) => ok(await call(broker, '/api/token', users[i]))),
      `${(await refreshCount(stack)) - before} refreshes at the provider`);

    stack.clock.offset += 4000;
    const stampedeBefore = await refreshCount(stack);
    const stampede = await timed(200, 200, async () => ok(await call(broker, '/api/token', users[0])));
    row('stampede: 200 concurrent `/api/token` on one expired connection', stampede, `${(await refreshCount(stack)) - stampedeBefore} refresh at the provider`);
  } finally {
    await broker.stop();
    await stack.close();
  }
  console.log('| operation | requests | per second | p50 ms | p95 ms | p99 ms | note |');
  console.log('|---|---|---|---|---|---|---|');
  for (const line of rows) console.log(line);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
