/**
 * Delivering connection events to the app's own systems (EVENTS_WEBHOOK_URL), in the Standard
 * Webhooks form: a POST of the event as JSON with `webhook-id`, `webhook-timestamp` and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` — one signature per
 * secret, so a receiver keeps verifying while the secret rotates. At least once and in order per
 * connection: only a connection's oldest undelivered event is sent; a 2xx delivers it; anything
 * else, or no whole answer in 10 s, is retried with exponential backoff and jitter (5 s doubling to
 * 1 h) for EVENTS_RETRY_HOURS, then kept as failed (an operator can redeliver it).
 * The receiver is not trusted with the backend's memory: at most 10 deliveries at once, and of each
 * answer only its first 4 KB are read (nothing in it matters) before the connection is dropped.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { ConnectionEvents, StoredEvent } from '../storage/ports';
import type { Metrics } from './metrics';

export interface EventWebhook {
  url: URL;
  /** `whsec_<base64>` secrets; the first is the current one, all sign. */
  secrets: string[];
  timeoutMs: number;
  /** How long an event is retried before it is kept as failed. */
  retrySeconds: number;
}

/**
 * Parses EVENTS_WEBHOOK_SECRET: `whsec_<base64>` entries, comma-separated, of 24 to 64 bytes as
 * the Standard Webhooks spec asks. The message names what is wrong, never a secret.
 */
export function parseWebhookSecrets(text: string): string[] {
  const secrets = text.split(',').map((entry) => entry.trim()).filter(Boolean);
  if (secrets.length === 0) throw new Error('no secret given');
  for (const [i, secret] of secrets.entries()) {
    const material = secret.slice('whsec_'.length);
    const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(material) ? Buffer.from(material, 'base64').length : 0;
    if (!secret.startsWith('whsec_') || bytes < 24 || bytes > 64) throw new Error(`entry ${i + 1} must be whsec_ and 24 to 64 bytes in base64`);
  }
  return secrets;
}

/** The `webhook-signature` header: `v1,<signature>` for each secret, space-separated. */
export function signEvent(secrets: string[], id: string, timestamp: number, body: string): string {
  return secrets
    .map((secret) => `v1,${createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64')}`)
    .join(' ');
}

const FIRST_RETRY_SECONDS = 5;
const LAST_RETRY_SECONDS = 3600;

/** When the next attempt goes, after `attempts` failed ones: doubling, ±20 %. */
const nextAttempt = (now: number, attempts: number) =>
  now + Math.round(Math.min(LAST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** attempts) * (0.8 + Math.random() * 0.4));

export interface DeliveryParts {
  events: ConnectionEvents;
  metrics: Metrics;
  logger: Logger;
  /** Unix seconds: when events are due. */
  now: () => number;
  /** Unix seconds for `webhook-timestamp`: the fleet's wall clock, which receivers check against theirs. */
  signingTime: () => number;
}

/** Events sent side by side in one round: what one receiver is asked to take at once. */
const ROUND = 10;
/** Of an answer only this much is read; the rest is dropped with the connection. */
const ANSWER_BYTES = 4096;
/** A claim outlasts its request by this much; a crashed instance's claims lapse after it. */
const CLAIM_MARGIN_SECONDS = 5;

/**
 * One round: the due events (each its connection's oldest), sent side by side; 'more' when a full
 * round went out and the next events may be due already. A claim outlasts the request's timeout,
 * so no other instance sends the same event meanwhile.
 */
export async function deliverDue(parts: DeliveryParts, webhook: EventWebhook): Promise<'more' | 'done'> {
  const due = await parts.events.claimDue(parts.now(), ROUND, Math.ceil(webhook.timeoutMs / 1000) + CLAIM_MARGIN_SECONDS);
  const results = await Promise.all(due.map((event) => deliver(parts, webhook, event)));
  return due.length === ROUND && results.every(Boolean) ? 'more' : 'done';
}

async function deliver(parts: DeliveryParts, webhook: EventWebhook, stored: StoredEvent): Promise<boolean> {
  const { attempts, nextAttemptAt: _next, deliveredAt: _delivered, failedAt: _failed, lastError: _error, ...event } = stored;
  const body = JSON.stringify(event);
  const timestamp = parts.signingTime();
  let response: Response | undefined;
  let outcome: string;
  try {
    // One timeout for the whole exchange: the answer's body too, so a stall after the headers ends.
    response = await fetch(webhook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': event.id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signEvent(webhook.secrets, event.id, timestamp, body) },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(webhook.timeoutMs),
    });
    await readAtMost(response, ANSWER_BYTES);
    if (response.ok) {
      await parts.events.delivered(event.id, parts.now());
      parts.metrics.deliveries.inc({ result: 'delivered' });
      return true;
    }
    outcome = `HTTP ${response.status}`;
  } catch (err) {
    outcome = (err as Error).name === 'TimeoutError' ? 'timeout' : response ? 'answer cut off' : 'unreachable';
  }
  const now = parts.now();
  if (now - event.created >= webhook.retrySeconds) {
    await parts.events.failed(event.id, now, outcome);
    parts.metrics.deliveries.inc({ result: 'failed' });
    parts.logger.error({ event: event.id, type: event.type, attempts: attempts + 1, outcome }, 'event delivery failed for good; kept as failed');
  } else {
    await parts.events.retryLater(event.id, nextAttempt(now, attempts), outcome);
    parts.metrics.deliveries.inc({ result: 'retry' });
    parts.logger.warn({ event: event.id, type: event.type, attempts: attempts + 1, outcome }, 'event delivery failed; will retry');
  }
  return false;
}

/** Reads the answer to its end or past `maxBytes`, then cancels the rest (undici drops the connection). */
async function readAtMost(response: Response, maxBytes: number): Promise<void> {
  const reader = response.body?.getReader();
  if (!reader) return;
  for (let read = 0; read <= maxBytes; ) {
    const { done, value } = await reader.read();
    if (done) return;
    read += value.length;
  }
  await reader.cancel();
}
