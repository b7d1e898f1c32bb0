/**
 * The page's state: the server's snapshot (polled every second), the provider's return the
 * drawer reopens with, the views' contexts (new ones only when who you are changes), and the
 * console's actions, each of which reopens the views as a Dashboard reload would.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { CONSOLE_API, type ConsoleIdentity, type ConsoleSnapshot } from '../api';
import { post, snapshot as fetchSnapshot } from './api-client';
import { PERMISSIONS } from './host-calls';

type Action = typeof CONSOLE_API.select | typeof CONSOLE_API.expire | typeof CONSOLE_API.revoke;

const sameIdentity = (a: ConsoleIdentity | undefined, b: ConsoleIdentity) => a?.user.id === b.user.id && a.account.id === b.account.id && a.mode === b.mode;

function viewContexts(identity: ConsoleIdentity, constants: Record<string, string>, oauthContext: object | undefined) {
  const base = {
    userContext: { id: identity.user.id, name: identity.user.name, account: { id: identity.account.id, name: identity.account.name, country: 'US', isSandbox: false }, locale: 'en-US', roles: [] },
    environment: { mode: identity.mode, viewportID: 'stripe.dashboard.drawer.default', constants, objectContext: null },
    appContext: { authorizedPermissions: PERMISSIONS },
  };
  return { drawer: { ...base, oauthContext }, settings: { ...base, environment: { ...base.environment, viewportID: 'settings' } } };
}

export function useConsole() {
  const [snapshot, setSnapshot] = useState<ConsoleSnapshot>();
  const [identity, setIdentity] = useState<ConsoleIdentity>();
  const [constants, setConstants] = useState<Record<string, string>>();
  const [oauthContext, setOauthContext] = useState<object>();
  const [mounts, setMounts] = useState(0);
  const [clock, setClock] = useState(Date.now());

  // A return from the provider: /?return=<id> holds the oauthContext the drawer reopens with.
  useEffect(() => {
    const id = new URLSearchParams(location.search).get('return');
    if (!id) return;
    history.replaceState(null, '', '/');
    post<{ oauthContext: object }>(CONSOLE_API.takeReturn, { id }).then((a) => setOauthContext(a.oauthContext), () => undefined);
  }, []);

  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      const next = await fetchSnapshot();
      if (next && !stopped) {
        setSnapshot(next);
        setIdentity((current) => (sameIdentity(current, next.identity) ? current : next.identity));
        setConstants((current) => (JSON.stringify(current) === JSON.stringify(next.constants) ? current : next.constants));
      }
      setClock(Date.now());
    };
    void poll();
    const timer = setInterval(poll, 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  const contexts = useMemo(() => identity && constants && viewContexts(identity, constants, oauthContext), [identity, constants, oauthContext]);

  const act = useCallback((action: Action, body: object = {}) =>
    post(action, body).then(() => {
      setOauthContext(undefined);
      setMounts((n) => n + 1);
    }, (err: Error) => alert(err.message)), []);

  return { snapshot, contexts, mounts, clock, act };
}
