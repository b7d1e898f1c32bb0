/** Who the views run as: user, account and mode. */
import { CONSOLE_API, type ConsoleSnapshot } from '../../api';
import type { useConsole } from '../use-console';

export function IdentityPanel({ snapshot, act }: { snapshot: ConsoleSnapshot; act: ReturnType<typeof useConsole>['act'] }) {
  const { identity } = snapshot;
  return (
    <div className="panel" data-panel="identity">
      <h3 className="panel-title">You are</h3>
      <div className="panel-body fields">
        <label className="field"><span className="field-label">User</span>
          <select className="select" value={identity.user.id} onChange={(e) => void act(CONSOLE_API.select, { user: e.target.value })}>
            {snapshot.users.map((u) => <option key={u.id} value={u.id}>{u.name} ({u.id})</option>)}
          </select>
        </label>
        <label className="field"><span className="field-label">Account</span>
          <select className="select" value={identity.account.id} onChange={(e) => void act(CONSOLE_API.select, { account: e.target.value })}>
            {snapshot.accounts.map((a) => <option key={a.id} value={a.id}>{a.name} ({a.id})</option>)}
          </select>
        </label>
        <label className="field field-short"><span className="field-label">Mode</span>
          <select className="select" value={identity.mode} onChange={(e) => void act(CONSOLE_API.select, { mode: e.target.value })}>
            <option value="test">test</option>
            <option value="live">live</option>
          </select>
        </label>
      </div>
    </div>
  );
}
