/** The provider API calls made as the identity's connections through the backend's /api/proxy. */
import type { ConsoleSnapshot } from '../../api';
import { serviceName } from './service';
import { when } from './when';

/** The newest calls shown; the server keeps a few more. */
const SHOWN = 8;

const tone = (outcome: string) => (/^2\d\d$/.test(outcome) ? 'positive' : /^\d+$/.test(outcome) ? 'warning' : 'critical');

export function ProxyPanel({ calls, services }: { calls: ConsoleSnapshot['proxied']; services: boolean }) {
  return (
    <div className="panel" data-panel="proxy">
      <h3 className="panel-title">Proxied API calls <small>(the providers&apos; APIs as these connections)</small></h3>
      {calls.length === 0 ? <p className="empty">none yet</p> : (
        <div className="table-wrap">
          <table className="table">
            <thead><tr><th className="shrink">time</th>{services ? <th className="shrink">service</th> : null}<th>request</th><th className="shrink">status</th><th className="shrink num">latency</th></tr></thead>
            <tbody>{calls.slice(0, SHOWN).map((c, i) => (
              <tr key={i} data-status={c.outcome} data-service={c.service}>
                <td className="nowrap">{when(c.time)}</td>
                {services ? <td>{serviceName(c.service)}</td> : null}
                <td><code>{c.method} {c.path}</code></td>
                <td><span className={`tone tone-${tone(c.outcome)}`}>{c.outcome}</span></td>
                <td className="num nowrap">{c.latencyMs} ms</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
    </div>
  );
}
