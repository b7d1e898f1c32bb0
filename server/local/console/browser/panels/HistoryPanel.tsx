/** The backend's refresh, exchange and disconnect events for this connection. */
import type { ConsoleSnapshot } from '../../api';
import { when } from './when';

export function HistoryPanel({ history }: { history: ConsoleSnapshot['history'] }) {
  return (
    <div className="panel" data-panel="history">
      <h3>Refresh history <small>(from the backend)</small></h3>
      {history.length === 0 ? <p className="empty">none yet</p> : (
        <table>
          <thead><tr><th>time</th><th>event</th><th>outcome</th><th>latency</th></tr></thead>
          <tbody>{history.map((h, i) => (
            <tr key={i} data-outcome={h.outcome}><td>{when(h.time)}</td><td>{h.event}</td><td>{h.outcome}</td><td>{h.latencyMs === undefined ? '' : `${h.latencyMs} ms`}</td></tr>
          ))}</tbody>
        </table>
      )}
    </div>
  );
}
