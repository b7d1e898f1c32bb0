/**
 * A fixed-window counter per connection, in memory: enough to stop one Dashboard user from
 * hammering the provider's token endpoint through the backend. Windows of idle connections
 * are dropped as they lapse, so the map stays as small as the recent traffic.
 */
import { type ConnectionId, connectionKey } from '../../src/shared/connection-id';

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one attempt; returns 0 when allowed, else the seconds until the window ends. */
  take(connection: ConnectionId): number {
    const now = this.now();
    for (const [key, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(key);
    const key = connectionKey(connection);
    const window = this.windows.get(key) ?? { start: now, count: 0 };
    this.windows.set(key, window);
    if (window.count >= this.max) return Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000));
    window.count++;
    return 0;
  }
}
