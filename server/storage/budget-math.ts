/**
 * The arithmetic of a RequestBudget bucket, the same in memory and in PostgreSQL's statement
 * (postgres-budget.ts spells it in SQL): refill at the rate in force, a burst of a tenth of a
 * second's requests, additive increase back to the limit, multiplicative decrease on a 429.
 */

/** Requests a second the rate grows back by, each second without a 429. */
export const INCREASE_PER_SECOND = 1;
/**
 * A bucket holds at most this share of a second's requests: a burst, then the rate. Small, since
 * a second can hold a burst and a second's rate: the budget (80 % of Stripe's limit) plus a
 * tenth stays below the limit even when requests bunch up on their way to Stripe.
 */
export const BURST_SECONDS = 0.1;
/** Two 429s closer than this are one signal (the requests of one burst). */
export const CUT_SPACING_MS = 1000;
/** The rate never falls below this. */
export const MIN_RATE = 1;

export interface Bucket {
  tokens: number;
  rate: number;
  updatedMs: number;
  cutMs: number;
}

export const burstOf = (rate: number) => Math.max(1, rate * BURST_SECONDS);

/** `bucket` at `nowMs`, with `granted` of `wanted` taken from it. */
export function take(bucket: Bucket, wanted: number, limit: number, nowMs: number): { bucket: Bucket; granted: number } {
  const elapsed = Math.max(0, nowMs - bucket.updatedMs) / 1000;
  const rate = Math.min(limit, bucket.rate + elapsed * INCREASE_PER_SECOND);
  const available = Math.min(burstOf(rate), bucket.tokens + elapsed * bucket.rate);
  const granted = Math.max(0, Math.min(wanted, Math.floor(available)));
  return { bucket: { ...bucket, tokens: available - granted, rate, updatedMs: nowMs }, granted };
}

export function cut(bucket: Bucket, nowMs: number): Bucket {
  if (nowMs - bucket.cutMs < CUT_SPACING_MS) return bucket;
  return { ...bucket, rate: Math.max(MIN_RATE, bucket.rate / 2), tokens: Math.min(0, bucket.tokens), cutMs: nowMs };
}
