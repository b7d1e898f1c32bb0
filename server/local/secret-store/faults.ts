/**
 * Fault injection for tests: the next `count` requests (optionally only those of one route,
 * e.g. `POST /v1/apps/secrets`, and of one secret `name`) fail the way a real network or API can.
 * - `http500` / `http429`: an error response (with `Stripe-Should-Retry` when `shouldRetry` is set);
 * - `drop`: the connection is destroyed before the request is served (nothing changes);
 * - `drop_after`: the request is served, then the connection is destroyed before the answer
 *   (a lost response: the write happened, and only an idempotent retry tells the caller so);
 * - `delay`: the request is served after `delayMs` (a slow store).
 * With `delayMs`, any other kind also acts that long after the request arrived.
 * Injected failures are infrastructure failures, so they are never stored as idempotent results.
 */
export type FaultKind = 'http500' | 'http429' | 'drop' | 'drop_after' | 'delay';

export interface FaultSpec {
  kind: FaultKind;
  count?: number;
  route?: string;
  /** Only requests for the secret of this name. */
  name?: string;
  shouldRetry?: boolean;
  delayMs?: number;
}

export class Faults {
  private pending: Array<FaultSpec & { count: number }> = [];
  /** How many requests have met a fault so far (a test waits for its fault to be under way). */
  taken = 0;

  inject(spec: FaultSpec): void {
    this.pending.push({ ...spec, count: spec.count ?? 1 });
  }

  clear(): void {
    this.pending = [];
  }

  /** The fault for this request, if one is due; each use counts down. */
  take(route: string, name: string | undefined): FaultSpec | undefined {
    const fault = this.pending.find((f) => (!f.route || f.route === route) && (!f.name || f.name === name));
    if (!fault) return undefined;
    fault.count -= 1;
    this.taken += 1;
    if (fault.count <= 0) this.pending.splice(this.pending.indexOf(fault), 1);
    return fault;
  }
}
