/** Who the views run as: user, account and mode. A change is a new Dashboard session. */
import type { ConsoleSnapshot } from '../../api';
import type { useConsole } from '../use-console';

type Select = ReturnType<typeof useConsole>['select'];

export function IdentityPanel({ snapshot, busy, select }: { snapshot: ConsoleSnapshot; busy: boolean; select: Select }) {
  const { identity } = snapshot;
  return (
    <div className="panel" data-panel="identity">
      <h3 className="panel-title">You are <small>views signed in as {identity.user.id} on {identity.account.id}, {identity.mode} mode</small></h3>
      <div className="panel-body fields">
        <label className="field"><span className="field-label">User</span>
          <select className="select" value={identity.user.id} disabled={busy} onChange={(e) => void select({ user: e.target.value })}>
            {snapshot.users.map((u) => <option key={u.id} value={u.id}>{u.name} ({u.id})</option>)}
          </select>
        </label>
        <label className="field"><span className="field-label">Account</span>
          <select className="select" value={identity.account.id} disabled={busy} onChange={(e) => void select({ account: e.target.value })}>
            {snapshot.accounts.map((a) => <option key={a.id} value={a.id}>{a.name} ({a.id})</option>)}
          </select>
        </label>
        <label className="field field-short"><span className="field-label">Mode</span>
          <select className="select" value={identity.mode} disabled={busy} onChange={(e) => void select({ mode: e.target.value })}>
            <option value="test">test</option>
            <option value="live">live</option>
          </select>
        </label>
      </div>
      {snapshot.sharedLogins.map(({ service, subject, users }) => (
        <p key={service} className="panel-note" data-shared-login={service}>
          {identity.user.name} and {users.join(', ')} are connected{service ? ` to ${service}` : ''} as the same provider user ({subject}): in one browser the
          provider&apos;s sign-in is shared, so the second Connect signed in as the first. Sign out at the provider, or use another browser profile, to connect as someone else.
        </p>
      ))}
    </div>
  );
}
