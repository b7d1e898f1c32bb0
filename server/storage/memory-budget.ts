/** Request budgets in memory: for one instance (SQLite) the process is the whole fleet. */
import { type Bucket, burstOf, cut, take } from './budget-math';
import type { RequestBudget } from './ports';

export class MemoryBudget implements RequestBudget {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  private bucket(key: string, limit: number): Bucket {
    return this.buckets.get(key) ?? { tokens: burstOf(limit), rate: limit, updatedMs: this.nowMs(), cutMs: 0 };
  }

  async take(key: string, wanted: number, limit: number): Promise<{ granted: number; rate: number }> {
    const { bucket, granted } = take(this.bucket(key, limit), wanted, limit, this.nowMs());
    this.buckets.set(key, bucket);
    return { granted, rate: bucket.rate };
  }

  async throttled(key: string): Promise<void> {
    const bucket = this.buckets.get(key);
    if (bucket) this.buckets.set(key, cut(bucket, this.nowMs()));
  }
}
