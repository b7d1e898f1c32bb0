/**
 * Request counts in fixed windows, in memory: for one instance (SQLite) the process is the whole
 * fleet, and one turn of the event loop is one step. Lapsed windows and refusals are swept once a
 * minute, so the maps stay as small as the recent traffic.
 */
import type { CountedRequest, RequestCounts, Taken } from './ports';

const SWEEP_MS = 60_000;

export class MemoryRequestCounts implements RequestCounts {
  private readonly windows = new Map<string, { start: number; end: number; count: number }>();
  /** By signer key: the latest refused signature's timestamp, and until when it could verify (unix s). */
  private readonly refused = new Map<string, { signedAt: number; until: number }>();
  private nextSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async take(request: CountedRequest): Promise<Taken> {
    const now = this.now();
    this.sweep(now);
    const start = Math.floor(now / request.windowMs) * request.windowMs;
    const count = (key: string) => {
      const window = this.windows.get(key);
      return window?.start === start ? window.count : 0;
    };
    const full = count(request.signerKey) >= request.perSigner || count(request.accountKey) >= request.perAccount;
    const refusedBefore = (this.refused.get(request.signerKey)?.signedAt ?? -Infinity) >= request.signedAt;
    if (full || refusedBefore) {
      if (!refusedBefore) this.refused.set(request.signerKey, { signedAt: request.signedAt, until: request.validUntil });
      return { counted: false, retryAfterSeconds: full ? Math.max(1, Math.ceil((start + request.windowMs - now) / 1000)) : 1 };
    }
    for (const key of [request.signerKey, request.accountKey]) {
      const window = this.windows.get(key);
      if (window?.start === start) window.count++;
      else this.windows.set(key, { start, end: start + request.windowMs, count: 1 });
    }
    return { counted: true, windowStart: start };
  }

  async giveBack(request: CountedRequest, windowStart: number): Promise<void> {
    for (const key of [request.signerKey, request.accountKey]) {
      const window = this.windows.get(key);
      if (window?.start === windowStart && window.count > 0) window.count--;
    }
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    for (const [key, w] of this.windows) if (w.end <= now) this.windows.delete(key);
    for (const [key, r] of this.refused) if (r.until * 1000 <= now) this.refused.delete(key);
    this.nextSweep = now + SWEEP_MS;
  }
}
