/**
 * A connection's stored state, and the event each change of it makes: connected (a new grant),
 * degraded (the first transient failure after a success), recovered, reconnect_required (with
 * its reason), disconnected (with who). The event is written in the same transaction as the
 * state (when events are delivered: EVENTS_WEBHOOK_URL), so a crash never loses one; the
 * in-process `onEvent` hears it once the change is stored.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ConnectionEvent, ConnectionEventType, DisconnectedBy } from '../../src/common/connection-event';
import type { ConnectionId } from '../../src/common/connection-id';
import { CONNECTED, type ConnectionRecords, type ConnectionState } from '../storage/ports';
import { describeError } from './errors';
import { keepAliveAt, type KeepAlivePolicy } from './keep-alive-policy';
import type { Metrics } from './metrics';

export interface StateOptions {
  /** Events are written for delivery (EVENTS_WEBHOOK_URL is set). */
  recordEvents: boolean;
  /** The template's own subscriber, in this process. */
  onEvent?: (event: ConnectionEvent) => void;
  /** An event was written for delivery. */
  onRecorded?: () => void;
  /** When keep-alive refreshes a connection next: each state stores its due time. */
  keepAlive: KeepAlivePolicy;
  now: () => number;
  logger: Logger;
}

/** Which event a change from `before` to `after` (null: forgotten) makes, if any. */
function eventType(before: ConnectionState | undefined, after: ConnectionState | null, connected: boolean): ConnectionEventType | undefined {
  if (after === null) return before ? 'connection.disconnected' : undefined;
  if (connected) return 'connection.connected';
  if (after.status === 'reconnect_required') return before?.status === 'reconnect_required' ? undefined : 'connection.reconnect_required';
  if ((before?.failures ?? 0) === 0 && after.failures > 0) return 'connection.degraded';
  if ((before?.failures ?? 0) > 0 && after.failures === 0) return 'connection.recovered';
  return undefined;
}

export class ConnectionStates {
  constructor(
    private readonly records: ConnectionRecords,
    private readonly metrics: Metrics,
    private readonly options: StateOptions,
  ) {}

  private event(connection: ConnectionId, type: ConnectionEventType, state: ConnectionState | null, by?: DisconnectedBy): ConnectionEvent {
    return {
      id: `evt_${randomUUID().replace(/-/g, '')}`,
      type,
      created: this.options.now(),
      data: {
        mode: connection.mode,
        account_id: connection.accountId,
        user_id: connection.userId,
        status: state?.status ?? 'not_connected',
        reason: state?.reason ?? null,
        scope: connection.userId === null ? 'account' : 'user',
        ...(connection.provider && { provider: connection.provider }),
        ...(by && { by }),
      },
    };
  }

  /** Writes the change and its event together, then tells the in-process subscriber. */
  private async store(connection: ConnectionId, before: ConnectionState | undefined, state: ConnectionState | null, cause: { connected?: boolean; by?: DisconnectedBy }): Promise<void> {
    const after = state && { ...state, keepAliveAt: keepAliveAt(connection, state.lastRefreshAt, state.refreshExpiresAt, this.options.keepAlive) };
    const type = eventType(before, after, cause.connected ?? false);
    const event = type && this.event(connection, type, after, cause.by);
    const recorded = this.options.recordEvents ? event : undefined;
    if (after === null) await this.records.remove(connection, recorded);
    else await this.records.put(connection, after, recorded);
    if (!event) return;
    this.metrics.events.inc({ type: event.type });
    if (recorded) this.options.onRecorded?.();
    try {
      this.options.onEvent?.(event);
    } catch (err) {
      // The template's subscriber failing must not fail the refresh that made the event.
      this.options.logger.error({ event: event.id, type: event.type, err: describeError(err) }, 'onEvent threw');
    }
  }

  /** Changes some fields of a connection's state, keeping the others (a new connection starts from CONNECTED). */
  async update(connection: ConnectionId, change: Partial<ConnectionState>): Promise<ConnectionState> {
    const before = await this.records.get(connection);
    const after: ConnectionState = { ...CONNECTED, ...stateOf(before), ...change };
    await this.store(connection, before, after, {});
    return after;
  }

  /** A new grant (an exchange, or a registration in extension mode). */
  async connected(connection: ConnectionId, state: ConnectionState): Promise<void> {
    await this.store(connection, await this.records.get(connection), state, { connected: true });
  }

  /** The connection is forgotten; `by` says who ended it. */
  async removed(connection: ConnectionId, by: DisconnectedBy): Promise<void> {
    await this.store(connection, await this.records.get(connection), null, { by });
  }
}

/** The state fields of a record. */
function stateOf(record: ConnectionState | undefined): Partial<ConnectionState> {
  if (!record) return {};
  const { status, accessExpiresAt, refreshExpiresAt, lastRefreshAt, failures, outcomeUnknownAt, reason, sealedWith, keepAliveAt: due, subject, generation } = record;
  return { status, accessExpiresAt, refreshExpiresAt, lastRefreshAt, failures, outcomeUnknownAt, reason, sealedWith, keepAliveAt: due, subject, generation };
}
