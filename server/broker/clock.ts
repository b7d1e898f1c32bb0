/**
 * The broker's clock: this machine's, corrected to one reference for the fleet — the database's
 * with PostgreSQL, else the provider's `Date` header — so stored expiries, due times and the
 * age of signed requests do not depend on which instance's clock is off. Skew against the
 * reference and against the provider is measured at start and periodically, and warned above
 * SKEW_WARNING_MS. A machine whose clock is wrong still needs fixing; this keeps the broker
 * correct meanwhile.
 */
import type { Logger } from 'pino';
import type { ProviderClock } from './oauth-client';

const SKEW_WARNING_MS = 5000;
/** Provider answers slower than this do not measure its clock. */
const QUICK_ANSWER_MS = 500;

export type ClockReference = 'database' | 'provider';

export class BrokerClock implements ProviderClock {
  /** reference − local, in ms. */
  private offsetMs = 0;
  /** corrected local − provider, in ms, when measured. */
  private providerSkewMs = 0;
  private warned = new Set<string>();

  constructor(
    private readonly logger: Logger,
    /** Where the fleet's time comes from; `database` needs `databaseTime`. */
    private readonly reference: ClockReference,
    private readonly databaseTime?: () => Promise<number>,
  ) {}

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  /** Unix seconds by the fleet's clock. */
  now = (): number => Math.floor(this.nowMs() / 1000);

  /** How far this machine's clock is behind the fleet's, in seconds (0 when ahead). */
  get behindSeconds(): number {
    return Math.max(0, Math.round(this.offsetMs / 1000));
  }

  /** How far the provider's clock is ahead of this machine's, in seconds: ID tokens are checked by it. */
  get providerOffsetSeconds(): number {
    return Math.round((this.offsetMs - this.providerSkewMs) / 1000);
  }

  /** Samples the database three times and keeps the one with the shortest round trip. */
  async measureDatabase(): Promise<void> {
    if (this.reference !== 'database' || !this.databaseTime) return;
    let best: { rtt: number; offset: number } | undefined;
    for (let i = 0; i < 3; i++) {
      const sent = Date.now();
      const reference = await this.databaseTime();
      const received = Date.now();
      const sample = { rtt: received - sent, offset: reference - (sent + received) / 2 };
      if (!best || sample.rtt < best.rtt) best = sample;
    }
    this.offsetMs = best!.offset;
    this.warnIf('database', this.offsetMs, 'this machine\'s clock differs from the database\'s; the broker uses the database\'s');
  }

  /**
   * A `Date` header from the provider, on an answer received between `sentMs` and `receivedMs`
   * (local). Its resolution is a second, so a second of skew is noise, and only quick answers
   * count: a slow one says little about when its header was written.
   */
  observeProvider(date: string | null, sentMs: number, receivedMs: number): void {
    const providerMs = date ? Date.parse(date) : NaN;
    if (!Number.isFinite(providerMs) || receivedMs - sentMs > QUICK_ANSWER_MS) return;
    // Header times are truncated to the second: the provider's clock is up to 1 s past the header.
    const skew = providerMs + 500 - (sentMs + receivedMs) / 2;
    const significant = Math.abs(skew) > 1000 ? skew : 0;
    if (this.reference === 'provider') {
      this.offsetMs = significant;
      this.warnIf('provider', skew, "this machine's clock differs from the provider's; the broker uses the provider's");
      return;
    }
    const providerSkew = skew - this.offsetMs;
    this.providerSkewMs = Math.abs(providerSkew) > 1000 ? -providerSkew : 0;
    this.warnIf('provider', providerSkew, "the provider's clock differs from the database's");
  }

  /** Measures the database now and every `intervalMs` (failures are left to the next round). */
  start(intervalMs = 60_000): { stop(): void } {
    const measure = () => void this.measureDatabase().catch(() => undefined);
    measure();
    const timer = setInterval(measure, intervalMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  private warnIf(source: string, skewMs: number, message: string): void {
    const key = `${source}:${Math.round(skewMs / SKEW_WARNING_MS)}`;
    if (Math.abs(skewMs) <= SKEW_WARNING_MS || this.warned.has(key)) return;
    this.warned.add(key);
    this.logger.warn({ source, skewSeconds: Math.round(skewMs / 1000) }, message);
  }
}
