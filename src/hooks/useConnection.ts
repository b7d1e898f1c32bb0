/**
 * The connection as view state, for the drawer and the settings view. The drawer (`signIn`)
 * also handles the provider's return and, when Connect is pressed, prepares the link to the
 * provider; the settings view only shows and disconnects (it never receives `oauthContext`).
 */
import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { AppConfig, readAppConfig } from '../lib/app-config';
import { BackendError } from '../lib/backend-client';
import type { ConnectionId } from '../shared/connection-id';
import {
  completeSignIn,
  Connection,
  disconnect,
  fetchProfile,
  FlowContext,
  FlowError,
  isNewReturn,
  loadConnection,
  prepareSignIn,
  Profile,
} from '../lib/connection-flow';
import { dashboard } from '../lib/dashboard';

export type ViewState =
  | { phase: 'loading' }
  | { phase: 'config_error'; problems: string[] }
  | { phase: 'no_user' }
  | { phase: 'needs_permission' }
  | { phase: 'exchanging' }
  /** `authorizeUrl` once Connect was pressed and the sign-in is prepared; `preparing` meanwhile. */
  | { phase: 'signed_out'; authorizeUrl?: string; preparing?: boolean; reconnect: boolean; error?: string }
  | { phase: 'connected'; connection: Extract<Connection, { kind: 'connected' }>; profile?: Profile; profileError?: string }
  | { phase: 'disconnecting' }
  | { phase: 'unavailable'; message: string };

export interface ConnectionControls {
  state: ViewState;
  config?: AppConfig;
  retry: () => void;
  /** Prepares a sign-in (a new state) and puts its provider link into the signed-out state. */
  connect: () => void;
  disconnect: () => void;
  /** Calls the provider with the access token again (who is connected). */
  checkProvider: () => void;
}

const messageOf = (err: unknown) =>
  err instanceof BackendError && err.status === 0 ? err.message : err instanceof Error ? err.message : 'Something went wrong.';

export function useConnection(context: ExtensionContextValue, options: { signIn: boolean; appId: string }): ConnectionControls {
  const { signIn, appId } = options;
  const userId = context.userContext?.id;
  const accountId = context.userContext?.account?.id;
  const mode = context.environment.mode;
  // Keyed by content, not identity: a new but equal constants object must not restart the flow.
  const constantsKey = JSON.stringify(context.environment.constants ?? {});
  const configResult = useMemo(() => readAppConfig(JSON.parse(constantsKey)), [constantsKey]);
  const oauth = context.oauthContext;
  const [code, oauthState, verifier, oauthError] = [oauth?.code, oauth?.state, oauth?.verifier, oauth?.error];
  const [state, setState] = useState<ViewState>({ phase: 'loading' });
  const [attempt, setAttempt] = useState(0);

  const ctx = useMemo<FlowContext | undefined>(() => {
    if (!configResult.ok || !userId || !accountId) return undefined;
    const caller: ConnectionId = { userId, accountId, mode };
    return { config: configResult.config, caller, appId };
  }, [configResult, userId, accountId, mode, appId]);

  const show = useCallback(async (connection: Connection, flow: FlowContext, error?: string): Promise<ViewState> => {
    if (connection.kind === 'connected') {
      try {
        return { phase: 'connected', connection, profile: await fetchProfile(flow.config, connection.accessToken) };
      } catch (err) {
        return { phase: 'connected', connection, profileError: messageOf(err) };
      }
    }
    return { phase: 'signed_out', reconnect: connection.reconnect, error };
  }, []);

  useEffect(() => {
    let cancelled = false;
    const set = (next: ViewState) => !cancelled && setState(next);
    (async () => {
      if (!configResult.ok) return set({ phase: 'config_error', problems: configResult.problems });
      if (!ctx) return set({ phase: 'no_user' });
      if (!(await dashboard().isPermissionAuthorized('secret_write'))) return set({ phase: 'needs_permission' });
      const ret = { code, state: oauthState, verifier, error: oauthError };
      if (signIn && isNewReturn(ret)) {
        set({ phase: 'exchanging' });
        try {
          return set(await show(await completeSignIn(ctx, ret), ctx));
        } catch (err) {
          if (!(err instanceof FlowError)) throw err;
          // A stale or replayed return over a working connection: show the connection.
          const current = err.kind === 'state_mismatch' ? await loadConnection(ctx) : undefined;
          if (current?.kind === 'connected') return set(await show(current, ctx));
          return set(await show({ kind: 'signed_out', reconnect: current?.reconnect ?? false }, ctx, err.message));
        }
      }
      set(await show(await loadConnection(ctx), ctx));
    })().catch((err) => set({ phase: 'unavailable', message: messageOf(err) }));
    return () => {
      cancelled = true;
    };
  }, [configResult, ctx, signIn, show, code, oauthState, verifier, oauthError, attempt]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);

  const connect = useCallback(() => {
    if (!ctx || !signIn || state.phase !== 'signed_out' || state.preparing) return;
    const signedOut = state;
    setState({ ...signedOut, preparing: true });
    prepareSignIn(ctx).then(
      (authorizeUrl) => setState({ ...signedOut, authorizeUrl, preparing: false }),
      (err) => setState({ phase: 'unavailable', message: messageOf(err) }),
    );
  }, [ctx, signIn, state]);

  const onDisconnect = useCallback(() => {
    if (!ctx) return;
    setState({ phase: 'disconnecting' });
    disconnect(ctx).then(retry, (err) => setState({ phase: 'unavailable', message: messageOf(err) }));
  }, [ctx, retry]);

  const checkProvider = useCallback(() => {
    if (!ctx) return;
    loadConnection(ctx)
      .then((connection) => show(connection, ctx))
      .then(setState, (err) => setState({ phase: 'unavailable', message: messageOf(err) }));
  }, [ctx, show]);

  return { state, config: configResult.ok ? configResult.config : undefined, retry, connect, disconnect: onDisconnect, checkProvider };
}
