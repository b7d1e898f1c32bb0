/**
 * The page's state: the server's snapshot (polled every half second, and at once after an action),
 * the provider's return the drawer reopens with, the views' contexts, and what makes the views
 * reload — a new session (another user, account or mode), a new revision of the connection (an
 * event, a refresh, a console action: the Dashboard would show it on its next load) or a new
 * build of the views. Failures of the console's own actions become a notice, never a dialog.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { CONSOLE_API, type ConsoleIdentity, type ConsoleSnapshot } from '../api';
import { post, snapshot as fetchSnapshot } from './api-client';
import { PERMISSIONS } from './host-calls';

export type ConsoleAction = typeof CONSOLE_API.expire | typeof CONSOLE_API.revoke;

function viewContexts(identity: ConsoleIdentity, constants: Record<string, unknown>, oauthContext: object | undefined) {
  const base = {
    userContext: { id: identity.user.id, name: identity.user.name, account: { id: identity.account.id, name: identity.account.name, country: 'US', isSandbox: false }, locale: 'en-US', roles: [] },
    environment: { mode: identity.mode, viewportID: 'stripe.dashboard.drawer.default', constants, objectContext: null },
    appContext: { authorizedPermissions: PERMISSIONS },
  };
  return { drawer: { ...base, oauthContext }, settings: { ...base, environment: { ...base.environment, viewportID: 'settings' } } };
}

/** What the mounted views were opened for; any change reopens them. */
interface Mounted {
  session: number;
  revision: number;
  build: number;
  identity: ConsoleIdentity;
  constants: Record<string, unknown>;
  oauthContext?: object;
}

export function useConsole() {
  const [snapshot, setSnapshot] = useState<ConsoleSnapshot>();
  const [mounted, setMounted] = useState<Mounted>();
  const [notice, setNotice] = useState<string>();
  const [clock, setClock] = useState(Date.now());
  const [busy, setBusy] = useState(false);
  const pendingReturn = useRef<object>();

  const apply = useCallback((next: ConsoleSnapshot) => {
    setSnapshot(next);
    setMounted((current) => {
      const same = current && current.session === next.session && current.build === next.build.number && JSON.stringify(current.constants) === JSON.stringify(next.constants);
      if (same && current.revision === next.revision) return current;
      // The provider's return goes to the first drawer of its session only: a reload after the change it made must not exchange the code again.
      const oauthContext = pendingReturn.current;
      pendingReturn.current = undefined;
      return { session: next.session, revision: next.revision, build: next.build.number, identity: next.identity, constants: next.constants, oauthContext };
    });
  }, []);

  const refresh = useCallback(async () => {
    const next = await fetchSnapshot();
    if (next) apply(next);
    setClock(Date.now());
  }, [apply]);

  // A return from the provider: /?return=<id> holds the oauthContext the drawer reopens with.
  useEffect(() => {
    const id = new URLSearchParams(location.search).get('return');
    history.replaceState(null, '', '/');
    const start = id
      ? post<{ oauthContext: object }>(CONSOLE_API.takeReturn, { id }).then((a) => void (pendingReturn.current = a.oauthContext), () => undefined)
      : Promise.resolve();
    let timer: ReturnType<typeof setInterval> | undefined;
    void start.then(() => {
      void refresh();
      timer = setInterval(refresh, 500);
    });
    return () => clearInterval(timer);
  }, [refresh]);

  const contexts = useMemo(() => mounted && viewContexts(mounted.identity, mounted.constants, mounted.oauthContext), [mounted]);

  const run = useCallback(async (work: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await work();
      setNotice(undefined);
    } catch (err) {
      setNotice((err as Error).message);
    } finally {
      setBusy(false);
      await refresh();
    }
  }, [refresh]);

  const act = useCallback((action: ConsoleAction, body: object = {}) => run(() => post(action, body)), [run]);
  const select = useCallback((choice: { user?: string; account?: string; mode?: string }) => run(() => post(CONSOLE_API.select, choice)), [run]);

  return { snapshot, mounted, contexts, clock, busy, notice, dismiss: () => setNotice(undefined), notify: setNotice, act, select };
}
