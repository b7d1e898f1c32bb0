/** Bounded retries with exponential backoff and jitter, for calls to the provider. */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
}

export async function withRetries<T>(policy: RetryPolicy, fn: () => Promise<T>, retryable: (err: unknown) => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= policy.attempts || !retryable(err)) throw err;
      const delay = policy.baseDelayMs * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
    }
  }
}
