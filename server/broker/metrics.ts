/**
 * Prometheus metrics (`GET /metrics`, guarded by METRICS_TOKEN): refreshes by outcome and
 * their latency, the access-token cache, Secret Store and provider calls and errors, lock
 * waits, the outbox depth, sealed payloads this instance lacks the key for. Labels carry
 * outcomes and operations only, never a connection, a token or a key id.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly refreshes = new Counter({ name: 'broker_refreshes_total', help: 'Refreshes by outcome (refreshed, invalid_grant, lost_after_unknown_outcome, retryable, unknown_outcome, rejected, …).', labelNames: ['outcome'], registers: [this.registry] });
  readonly refreshSeconds = new Histogram({ name: 'broker_refresh_duration_seconds', help: 'Provider refresh latency, retries included.', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  private readonly cache = new Counter({ name: 'broker_access_cache_total', help: 'Access-token cache lookups by result (hit, miss).', labelNames: ['result'], registers: [this.registry] });
  /** Bound once: the lookup counts are on the hot path. */
  readonly cacheHits = this.cache.labels('hit');
  readonly cacheMisses = this.cache.labels('miss');
  readonly secretStore = new Counter({ name: 'broker_secret_store_requests_total', help: 'Secret Store requests by operation and result (ok, error).', labelNames: ['operation', 'result'], registers: [this.registry] });
  readonly provider = new Counter({ name: 'broker_provider_requests_total', help: 'Provider requests by grant and result (ok, error).', labelNames: ['grant', 'result'], registers: [this.registry] });
  readonly lockWaitSeconds = new Histogram({ name: 'broker_lock_wait_seconds', help: 'Time spent waiting for a connection lock.', buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [this.registry] });
  readonly proxyRequests = new Counter({ name: 'broker_proxy_requests_total', help: "Calls of the provider's API as a connection, by the API's status class (2xx, 4xx, …) or the broker's error code.", labelNames: ['status'], registers: [this.registry] });
  readonly proxySeconds = new Histogram({ name: 'broker_proxy_duration_seconds', help: "Calls of the provider's API as a connection, a refresh and retry after a 401 included.", buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly events = new Counter({ name: 'broker_events_total', help: 'Connection events by type.', labelNames: ['type'], registers: [this.registry] });
  readonly deliveries = new Counter({ name: 'broker_event_deliveries_total', help: 'Event deliveries to EVENTS_WEBHOOK_URL by result (delivered, retry, failed).', labelNames: ['result'], registers: [this.registry] });
  readonly oldestUndelivered = new Gauge({ name: 'broker_events_oldest_undelivered_seconds', help: 'Age of the oldest event not delivered yet (0: none).', registers: [this.registry] });
  readonly sealingKeyMissing = new Counter({ name: 'broker_sealing_key_missing_total', help: 'Sealed payloads read that this instance cannot open: their key is not in its TOKEN_SEALING_KEYS (answered 503 sealing_key_missing, nothing removed).', registers: [this.registry] });
  readonly outboxDepth = new Gauge({ name: 'broker_outbox_depth', help: 'Token sets committed but not yet taken by the Secret Store.', registers: [this.registry] });

  /** Counts one provider call of `grant` around `call`. */
  providerCall<T>(grant: string, call: () => Promise<T>): Promise<T> {
    return counted(this.provider, { grant }, call);
  }

  /** Counts one Secret Store call of `operation` around `call`. */
  secretStoreCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return counted(this.secretStore, { operation }, call);
  }
}

async function counted<T>(counter: Counter, labels: Record<string, string>, call: () => Promise<T>): Promise<T> {
  try {
    const result = await call();
    counter.inc({ ...labels, result: 'ok' });
    return result;
  } catch (err) {
    counter.inc({ ...labels, result: 'error' });
    throw err;
  }
}
