/**
 * The console as the app's own system that hears connection events: `npm start` points
 * EVENTS_WEBHOOK_URL here. A delivery is checked the way Standard Webhooks describes it
 * (`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the secret's bytes
 * after `whsec_`, a timestamp within 5 minutes), kept once per event id (delivery is at least
 * once) for its connection, and shown beside those the backend still tries or gave up on (read
 * from its registry: the console runs in the backend's process).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ConnectionEvent } from '../../../src/common/connection-event';
import { connectionKey } from '../../../src/common/connection-id';
import type { ConnectionEvents, StoredEvent } from '../../storage/ports';
import type { EventRow } from './api';

const TOLERANCE_SECONDS = 300;
const KEEP = 20;

const keyOf = (event: ConnectionEvent) => connectionKey({ mode: event.data.mode, accountId: event.data.account_id, userId: event.data.user_id, provider: event.data.provider });
const reasonOf = (event: ConnectionEvent) => event.data.reason ?? event.data.by ?? null;

export class EventInbox {
  private readonly received = new Map<string, EventRow[]>();

  constructor(
    private readonly options: { secret: string; events: Pick<ConnectionEvents, 'list'> },
    /** Hears of each new event's connection: its views reload. */
    private readonly changed: (connectionKey: string) => void,
  ) {}

  /** Whether the headers sign this body with the inbox's secret. */
  private verified(headers: Record<string, string | undefined>, body: string): boolean {
    const [id, timestamp, signatures] = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => headers[name]);
    if (!id || !timestamp || !signatures || Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return false;
    const expected = createHmac('sha256', Buffer.from(this.options.secret.slice('whsec_'.length), 'base64')).update(`${id}.${timestamp}.${body}`).digest();
    return signatures.split(' ').some((entry) => {
      const [version, value] = entry.split(',');
      const given = Buffer.from(value ?? '', 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
  }

  /** A delivery: true when it is signed and new or known (2xx), false when it is not signed or not an event. */
  receive(headers: Record<string, string | undefined>, body: string): boolean {
    if (!this.verified(headers, body)) return false;
    let event: ConnectionEvent;
    try {
      event = JSON.parse(body) as ConnectionEvent;
    } catch {
      return false;
    }
    if (typeof event?.data?.account_id !== 'string') return false;
    const key = keyOf(event);
    const rows = this.received.get(key) ?? [];
    if (rows.some((row) => row.id === event.id)) return true;
    const row: EventRow = { id: event.id, type: event.type, created: event.created, reason: reasonOf(event), delivery: 'delivered', attempts: 0, receivedAt: Math.floor(Date.now() / 1000), lastError: null };
    this.received.set(key, [row, ...rows].slice(0, KEEP));
    this.changed(key);
    return true;
  }

  /** The connection's events: those received here, and those the backend still tries or gave up on. */
  async of(key: string): Promise<EventRow[]> {
    const waiting = await Promise.all((['pending', 'failed'] as const).map(async (state) => {
      const events: StoredEvent[] = await this.options.events.list(state, 100).catch(() => []);
      return events.filter((e) => keyOf(e) === key).map((e): EventRow => ({
        id: e.id, type: e.type, created: e.created, reason: reasonOf(e), delivery: state, attempts: e.attempts, receivedAt: null, lastError: e.lastError,
      }));
    }));
    const received = this.received.get(key) ?? [];
    const known = new Set(received.map((row) => row.id));
    return [...waiting.flat().filter((row) => !known.has(row.id)), ...received].sort((a, b) => b.created - a.created).slice(0, KEEP);
  }
}
