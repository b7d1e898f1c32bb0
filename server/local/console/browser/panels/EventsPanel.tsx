/** The connection events of the identity's connections the backend delivered here (EVENTS_WEBHOOK_URL), and those it still tries or gave up on; each names its service. */
import type { ConsoleSnapshot } from '../../api';
import { serviceName } from './service';
import { when } from './when';

const TONES: Record<string, string> = { 'connection.connected': 'positive', 'connection.recovered': 'positive', 'connection.disconnected': 'neutral' };
const DELIVERY_TONES: Record<string, string> = { delivered: 'positive', pending: 'warning', failed: 'critical' };

function delivery(e: ConsoleSnapshot['events'][number]): string {
  if (e.delivery === 'delivered') return `received ${when(e.receivedAt)}`;
  const tries = `${e.attempts} ${e.attempts === 1 ? 'attempt' : 'attempts'}`;
  return e.lastError ? `${tries}: ${e.lastError}` : tries;
}

export function EventsPanel({ events, services }: { events: ConsoleSnapshot['events']; services: boolean }) {
  return (
    <div className="panel" data-panel="events">
      <h3 className="panel-title">Connection events <small>(signed deliveries to this console)</small></h3>
      {events.length === 0 ? <p className="empty">none yet</p> : (
        <div className="table-wrap">
          <table className="table">
            <thead><tr><th className="shrink">time</th>{services ? <th className="shrink">service</th> : null}<th>type</th><th>reason</th><th>delivery</th></tr></thead>
            <tbody>{events.map((e) => (
              <tr key={e.id} data-event={e.type} data-delivery={e.delivery} data-service={e.service}>
                <td className="nowrap">{when(e.created)}</td>
                {services ? <td>{serviceName(e.service)}</td> : null}
                <td><span className={`tone tone-${TONES[e.type] ?? 'warning'}`}>{e.type}</span></td>
                <td>{e.reason ?? ''}</td>
                <td><span className={`tone tone-${DELIVERY_TONES[e.delivery]}`}>{e.delivery}</span> <small className="muted">{delivery(e)}</small></td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
    </div>
  );
}
