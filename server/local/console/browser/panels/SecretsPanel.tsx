/** The connection&apos;s secrets in the Secret Store, the access token's countdown, and the buttons that expire or revoke. */
import { CONSOLE_API, type ConsoleSnapshot } from '../../api';
import type { useConsole } from '../use-console';
import { when } from './when';

type Act = ReturnType<typeof useConsole>['act'];

/** The access token as the countdown tells it: past its expiry it is never shown as still valid. */
function countdown(expiresAt: number | null | undefined, now: number): string {
  if (!expiresAt) return 'No access token.';
  const left = expiresAt - Math.floor(now / 1000);
  return left > 0 ? `Access token expires in ${left} s.` : `Access token expired ${-left} s ago; the next request for it refreshes.`;
}

export function SecretsPanel({ snapshot, clock, busy, act }: { snapshot: ConsoleSnapshot; clock: number; busy: boolean; act: Act }) {
  const access = snapshot.secrets.find((s) => s.name === 'oauth.access');
  const refresh = snapshot.secrets.find((s) => s.name === 'oauth.refresh');
  const scope = snapshot.constants.CONNECTION_SCOPE === 'account' ? 'account scope' : 'user scope';
  return (
    <div className="panel" data-panel="secrets">
      <h3 className="panel-title">The connection&apos;s secrets in the Secret Store <small>({scope})</small></h3>
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
        <p className="countdown" data-countdown>{countdown(access?.expires_at, clock)}</p>
        <div className="actions">
          <button type="button" className="button button-secondary" disabled={busy || !access} title={access ? undefined : 'There is no access token to expire.'}
            onClick={() => void act(CONSOLE_API.expire)}>Expire the access token now</button>
          <button type="button" className="button button-destructive" disabled={busy || !refresh} title={refresh ? undefined : 'There is no refresh token to revoke.'}
            onClick={() => void act(CONSOLE_API.revoke)}>Revoke the grant at the provider</button>
        </div>
      </div>
    </div>
  );
}
