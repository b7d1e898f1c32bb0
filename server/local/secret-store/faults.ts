/**
 * Fault injection for tests: the next `count` requests (optionally only those of one route,
 * e.g. `POST /v1/apps/secrets`) fail the way a real network or API can.
 * - `http500` / `http429`: an error response (with `Stripe-Should-Retry` when `shouldRetry` is set);
 * - `drop`: the connection is destroyed before the request is served (nothing changes);
 * - `drop_after`: the request is served, then the connection is destroyed before the answer
 *   (a lost response: the write happened, and only an idempotent retry tells the caller so).
 * Injected failures are infrastructure failures, so they are never stored as idempotent results.
 */
export type FaultKind = 'http500' | 'http429' | 'drop' | 'drop_after';

export interface FaultSpec {
  kind: FaultKind;
  count?: number;
  route?: string;
  shouldRetry?: boolean;
}

export class Faults {
  private pending: Array<Required<Omit<FaultSpec, 'route' | 'shouldRetry'>> & Pick<FaultSpec, 'route' | 'shouldRetry'>> = [];

  inject(spec: FaultSpec): void {
    this.pending.push({ ...spec, count: spec.count ?? 1 });
  }

  clear(): void {
    this.pending = [];
  }

  /** The fault for this request, if one is due; each use counts down. */
  take(route: string): FaultSpec | undefined {
    const fault = this.pending.find((f) => !f.route || f.route === route);
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) this.pending.splice(this.pending.indexOf(fault), 1);
    return fault;
  }
}
