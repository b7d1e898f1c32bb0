/**
 * The offline console's page: it plays the Dashboard's part for this app's views. Each view runs
 * in a Web Worker (extension-worker.tsx) and renders through remote-ui into the DOM components of
 * components.tsx; the SDK's host calls are answered by the console server (console-server.ts),
 * which keeps the PKCE verifiers, signs as Stripe documents and reaches the Secret Store emulator
 * as the current user. Beside the views: who you are, the secrets, the token's countdown, the
 * refresh history, and the buttons that expire or revoke.
 */
import { createController, createRemoteReceiver, RemoteRenderer } from '@remote-ui/react/host';
import { createEndpoint, fromWebWorker } from '@remote-ui/rpc';
import { useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { ConsoleSnapshot } from '../console-snapshot';
import { HOST_COMPONENTS, UnknownComponent } from './components';

const PERMISSIONS = ['secret_write', 'event_read'];

async function post<T>(path: string, body: object = {}): Promise<T> {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await res.json();
  if (!res.ok) throw new Error(answer.error?.message ?? `${path} answered ${res.status}`);
  return answer as T;
}

/** The SDK's host calls, as the Dashboard answers them (the stateful ones by the console server). */
const hostCalls = {
  createOAuthState: (custom = '') => post('/host/create-oauth-state', { custom }),
  fetchStripeSignature: (additional: object) => post<{ signature: string }>('/host/fetch-stripe-signature', { additional }).then((a) => a.signature),
  stripeApiFetch: (path: string, init: object = {}) => post('/host/stripe-api-fetch', { path, init }),
  supportsFetchAppEmbeddedKey: async () => false,
  fetchAppEmbeddedKey: async () => {
    throw new Error('The offline console has no app embedded key.');
  },
  isPermissionAuthorized: async (permission: string) => PERMISSIONS.includes(permission),
  getUserAuthorizedPermissions: async () => PERMISSIONS,
  isSourceInAuthorizedCSP: async () => true,
  showToast: async (message: string) => {
    console.info(`toast: ${message}`);
    return { update: async () => undefined, dismiss: async () => undefined };
  },
  clipboardWriteText: (text: string) => navigator.clipboard?.writeText(text),
  navigateToDashboardRoute: async () => undefined,
  refreshDashboardData: async () => undefined,
};

const controller = createController(HOST_COMPONENTS, {
  renderComponent({ component }, { renderDefault }) {
    return Object.hasOwn(HOST_COMPONENTS, component.type) ? renderDefault() : <UnknownComponent key={component.id} name={String(component.type)} />;
  },
});

/** One view in its own worker; a new `context` (another user, a reopened drawer) is a new worker. */
function ViewFrame({ view, context }: { view: 'App' | 'AppSettings'; context: object }) {
  const receiver = useMemo(() => createRemoteReceiver(), []);
  useEffect(() => {
    const worker = new Worker('/extension.js');
    const endpoint = createEndpoint<{ render(...args: unknown[]): void }>(fromWebWorker(worker));
    endpoint.expose(hostCalls);
    void endpoint.call.render(receiver.receive, view, context);
    return () => worker.terminate();
  }, [receiver, view, context]);
  return <RemoteRenderer receiver={receiver} controller={controller} />;
}

const when = (unix: number | null) => (unix === null ? 'never' : new Date(unix * 1000).toLocaleTimeString());

function Console() {
  const [snapshot, setSnapshot] = useState<ConsoleSnapshot>();
  const [mounts, setMounts] = useState(0);
  const [oauthContext, setOauthContext] = useState<object>();
  const [clock, setClock] = useState(Date.now());

  // A return from the provider: /?return=<id> holds the oauthContext the drawer reopens with.
  useEffect(() => {
    const id = new URLSearchParams(location.search).get('return');
    if (!id) return;
    history.replaceState(null, '', '/');
    post<{ oauthContext: object }>(`/console/return`, { id }).then((a) => setOauthContext(a.oauthContext), () => undefined);
  }, []);
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      const res = await fetch('/console/state').catch(() => undefined);
      if (res?.ok && !stopped) setSnapshot(await res.json());
      setClock(Date.now());
    };
    void poll();
    const timer = setInterval(poll, 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  const identity = snapshot?.identity;
  const contexts = useMemo(() => {
    if (!identity || !snapshot) return undefined;
    const base = {
      userContext: { id: identity.user.id, name: identity.user.name, account: { id: identity.account.id, name: identity.account.name, country: 'US', isSandbox: false }, locale: 'en-US', roles: [] },
      environment: { mode: identity.mode, viewportID: 'stripe.dashboard.drawer.default', constants: snapshot.constants, objectContext: null },
      appContext: { authorizedPermissions: PERMISSIONS },
    };
    return {
      drawer: { ...base, oauthContext },
      settings: { ...base, environment: { ...base.environment, viewportID: 'settings' } },
    };
    // A new context (and so fresh workers) only when who you are changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [identity?.user.id, identity?.account.id, identity?.mode, oauthContext, Boolean(snapshot)]);

  if (!snapshot || !identity || !contexts) return <p>Starting the offline Dashboard…</p>;
  // Like a Dashboard reload: the views reopen, and the provider's return is no longer in their context.
  const act = (path: string, body: object = {}) =>
    post(path, body).then(() => {
      setOauthContext(undefined);
      setMounts((n) => n + 1);
    }, (err: Error) => alert(err.message));
  const access = snapshot.secrets.find((s) => s.name === 'oauth.access');
  const left = access?.expires_at ? Math.max(0, access.expires_at - Math.floor(clock / 1000)) : undefined;

  return (
    <main>
      <section className="column">
        <h2>Drawer <small>src/views/App.tsx</small></h2>
        {/* A button that changes the tokens reopens the views, as a Dashboard reload would. */}
        <div className="drawer"><ViewFrame key={mounts} view="App" context={contexts.drawer} /></div>
        <h2>Settings <small>src/views/AppSettings.tsx</small></h2>
        <div className="drawer"><ViewFrame key={mounts} view="AppSettings" context={contexts.settings} /></div>
      </section>
      <section className="column panels">
        <div className="panel" data-panel="identity">
          <h3>You are</h3>
          <label>User <select value={identity.user.id} onChange={(e) => void act('/console/select', { user: e.target.value })}>
            {snapshot.users.map((u) => <option key={u.id} value={u.id}>{u.name} ({u.id})</option>)}
          </select></label>
          <label>Account <select value={identity.account.id} onChange={(e) => void act('/console/select', { account: e.target.value })}>
            {snapshot.accounts.map((a) => <option key={a.id} value={a.id}>{a.name} ({a.id})</option>)}
          </select></label>
          <label>Mode <select value={identity.mode} onChange={(e) => void act('/console/select', { mode: e.target.value })}>
            <option value="test">test</option>
            <option value="live">live</option>
          </select></label>
        </div>
        <div className="panel" data-panel="secrets">
          <h3>Your secrets in the Secret Store <small>(user scope)</small></h3>
          {snapshot.secrets.length === 0 ? <p className="empty">none</p> : (
            <table>
              <thead><tr><th>name</th><th>expires_at</th><th>generation</th><th>payload</th></tr></thead>
              <tbody>{snapshot.secrets.map((s) => (
                <tr key={s.name} data-secret={s.name}><td>{s.name}</td><td>{when(s.expires_at)}</td><td>{s.generation ?? '–'}</td><td><code>{s.masked}</code></td></tr>
              ))}</tbody>
            </table>
          )}
          <p data-countdown>{left === undefined ? 'No access token.' : `Access token expires in ${left} s.`}</p>
          <button type="button" onClick={() => void act('/console/expire')}>Expire the access token now</button>{' '}
          <button type="button" onClick={() => void act('/console/revoke')}>Revoke the grant at the provider</button>
        </div>
        <div className="panel" data-panel="history">
          <h3>Refresh history <small>(from the backend)</small></h3>
          {snapshot.history.length === 0 ? <p className="empty">none yet</p> : (
            <table>
              <thead><tr><th>time</th><th>event</th><th>outcome</th><th>latency</th></tr></thead>
              <tbody>{snapshot.history.map((h, i) => (
                <tr key={i} data-outcome={h.outcome}><td>{when(h.time)}</td><td>{h.event}</td><td>{h.outcome}</td><td>{h.latencyMs === undefined ? '' : `${h.latencyMs} ms`}</td></tr>
              ))}</tbody>
            </table>
          )}
        </div>
      </section>
    </main>
  );
}

createRoot(document.getElementById('console')!).render(<Console />);
