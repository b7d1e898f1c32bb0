/**
 * The Secret Store budget: its bucket never lets a second's requests reach the limit it is kept
 * below; and its queue: among requests of one priority the connections take turns, so one
 * connection's flood of reads waits behind another connection's single read, not in front of it.
 */
import { SecretStoreBudget } from '../../server/broker/secret-store-budget';
import { MemoryBudget } from '../../server/storage/memory-budget';

test('in any one second the bucket grants at most its rate and a tenth more, so 80 % of a limit stays below it on the way there', async () => {
  let now = 0;
  const bucket = new MemoryBudget(() => now);
  const granted: number[] = [];
  // Someone always wants more, asking every 7 ms for 12 s.
  for (; now < 12_000; now += 7) {
    const { granted: got } = await bucket.take('secret_store:test', 4, 32);
    for (let i = 0; i < got; i++) granted.push(now);
  }
  const busiest = Math.max(...granted.map((start) => granted.filter((at) => at >= start && at < start + 1000).length));
  // 32/s is Stripe's 40/s less a fifth: a burst of a quarter second (40 in a second) would leave no room for the way there.
  expect(busiest).toBeLessThanOrEqual(35);
  expect(granted.length).toBeGreaterThanOrEqual(32 * 11);
});

test("one connection's 40 waiting reads do not hold back another connection's one: it is served in the next turn", async () => {
  const budget = new SecretStoreBudget(new MemoryBudget(), { test: 100, live: 100 }, 60_000);
  const served: string[] = [];
  const read = (connection: string) => budget.run('serve', () => budget.acquire('test', connection)).then(() => served.push(connection));
  const flood = Array.from({ length: 40 }, () => read('flooding'));
  const other = read('other');
  await Promise.all([...flood, other]);
  // First come, first served would put it 41st.
  expect(served.indexOf('other')).toBeLessThanOrEqual(1);
  budget.close();
});
