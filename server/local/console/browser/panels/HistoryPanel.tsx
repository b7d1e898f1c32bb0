/** The backend's refresh, exchange, API-key and disconnect lines for the identity's connections; a repeated line shows its count. */
import type { ConsoleSnapshot } from '../../api';
import { serviceName } from './service';
import { when } from './when';

/** The colour an outcome is shown in; any other outcome is a failure (invalid_grant, rejected, unknown_outcome…). */
const TONES: Record<string, string> = { connected: 'positive', refreshed: 'positive', disconnected: 'neutral', reconnect_required: 'warning' };

export function HistoryPanel({ history, services }: { history: ConsoleSnapshot['history']; services: boolean }) {
  return (
    <div className="panel" data-panel="history">
      <h3 className="panel-title">Refresh history <small>(the backend&apos;s log)</small></h3>
      {history.length === 0 ? <p className="empty">none yet</p> : (
        <div className="table-wrap">
          <table className="table">
            <thead><tr><th className="shrink">time</th>{services ? <th className="shrink">service</th> : null}<th>event</th><th>outcome</th><th className="shrink num">latency</th></tr></thead>
            <tbody>{history.map((h, i) => (
              <tr key={i} data-outcome={h.outcome} data-service={h.service}>
                <td className="nowrap">{when(h.time)}</td>
                {services ? <td>{serviceName(h.service)}</td> : null}
                <td data-event-name>{h.event}{h.count > 1 ? <span className="count" title="the same line, repeated">×{h.count}</span> : null}</td>
                <td data-outcome-name>{h.outcome ? <span className={`tone tone-${TONES[h.outcome] ?? 'critical'}`}>{h.outcome}</span> : null}</td>
                <td className="num nowrap">{h.latencyMs === undefined ? '' : `${h.latencyMs} ms`}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
    </div>
  );
}
