/** Events as both databases store them: the payload as JSON beside its delivery columns. */
import type { ConnectionEvent } from '../../src/common/connection-event';
import type { EventState, StoredEvent } from './ports';

export interface EventRow {
  payload: string;
  attempts: number | string;
  next_attempt_at: number | string;
  delivered_at: number | string | null;
  failed_at: number | string | null;
  last_error: string | null;
}

const num = (v: number | string | null) => (v === null ? null : Number(v));

export const storedEventOf = (row: EventRow): StoredEvent => ({
  ...(JSON.parse(row.payload) as ConnectionEvent),
  attempts: Number(row.attempts),
  nextAttemptAt: Number(row.next_attempt_at),
  deliveredAt: num(row.delivered_at),
  failedAt: num(row.failed_at),
  lastError: row.last_error,
});

export const PENDING_EVENT = 'delivered_at IS NULL AND failed_at IS NULL';
export const EVENT_STATE_SQL: Record<EventState, string> = { pending: PENDING_EVENT, delivered: 'delivered_at IS NOT NULL', failed: 'failed_at IS NOT NULL' };
