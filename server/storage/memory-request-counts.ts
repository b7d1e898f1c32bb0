/**
 * Request counts in fixed windows, in memory: for one instance (SQLite) the process is the whole
 * fleet. Lapsed windows are swept once a minute, so the map stays as small as the recent traffic.
 */
import type { RequestCounts, RequestWindow } from './ports';

const SWEEP_MS = 60_000;

export class MemoryRequestCounts implements RequestCounts {
  private readonly windows = new Map<string, { start: number; end: number; count: number }>();
  private nextSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async take(windows: RequestWindow[]): Promise<number> {
    const now = this.now();
    if (now >= this.nextSweep) {
      for (const [key, w] of this.windows) if (w.end <= now) this.windows.delete(key);
      this.nextSweep = now + SWEEP_MS;
    }
    let retryAfterMs = 0;
    for (const { key, max, windowMs } of windows) {
      const start = Math.floor(now / windowMs) * windowMs;
      let window = this.windows.get(key);
      if (!window || window.start !== start) this.windows.set(key, (window = { start, end: start + windowMs, count: 0 }));
      window.count++;
      if (window.count > max) retryAfterMs = Math.max(retryAfterMs, window.end - now);
    }
    return retryAfterMs > 0 ? Math.max(1, Math.ceil(retryAfterMs / 1000)) : 0;
  }
}
