/** The current user's secrets in the Secret Store, the access token's countdown, and the buttons that expire or revoke. */
import { CONSOLE_API, type ConsoleSnapshot } from '../../api';
import type { useConsole } from '../use-console';
import { when } from './when';

export function SecretsPanel({ snapshot, clock, act }: { snapshot: ConsoleSnapshot; clock: number; act: ReturnType<typeof useConsole>['act'] }) {
  const access = snapshot.secrets.find((s) => s.name === 'oauth.access');
  const left = access?.expires_at ? Math.max(0, access.expires_at - Math.floor(clock / 1000)) : undefined;
  return (
    <div className="panel" data-panel="secrets">
      <h3 className="panel-title">Your secrets in the Secret Store <small>(user scope)</small></h3>
      {snapshot.secrets.length === 0 ? <p className="empty">none</p> : (
        <div className="table-wrap">
          <table className="table">
            <thead><tr><th className="shrink">name</th><th className="shrink">expires_at</th><th className="shrink num">generation</th><th>payload</th></tr></thead>
            <tbody>{snapshot.secrets.map((s) => (
              <tr key={s.name} data-secret={s.name}>
                <td className="name">{s.name}</td><td className="nowrap">{when(s.expires_at)}</td><td className="num">{s.generation ?? '–'}</td><td><code className="payload">{s.masked}</code></td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
      <div className="panel-footer">
        <p className="countdown" data-countdown>{left === undefined ? 'No access token.' : `Access token expires in ${left} s.`}</p>
        <div className="actions">
          <button type="button" className="button button-secondary" onClick={() => void act(CONSOLE_API.expire)}>Expire the access token now</button>
          <button type="button" className="button button-destructive" onClick={() => void act(CONSOLE_API.revoke)}>Revoke the grant at the provider</button>
        </div>
      </div>
    </div>
  );
}
