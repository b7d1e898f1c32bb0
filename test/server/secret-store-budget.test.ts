/**
 * The Secret Store budget's queue: among requests of one priority the connections take turns, so
 * one connection's flood of reads waits behind another connection's single read, not in front of it.
 */
import { SecretStoreBudget } from '../../server/broker/secret-store-budget';
import { MemoryBudget } from '../../server/storage/memory-budget';

test("one connection's 40 waiting reads do not hold back another connection's one: it is served in the next turn", async () => {
  const budget = new SecretStoreBudget(new MemoryBudget(), { test: 20, live: 20 }, 60_000);
  const served: string[] = [];
  const read = (connection: string) => budget.run('serve', () => budget.acquire('test', connection)).then(() => served.push(connection));
  const flood = Array.from({ length: 40 }, () => read('flooding'));
  const other = read('other');
  await Promise.all([...flood, other]);
  // First come, first served would put it 41st.
  expect(served.indexOf('other')).toBeLessThanOrEqual(1);
  budget.close();
});
