/**
 * The connection as view state, for the drawer and the settings view: the work of
 * src/lib/connection-flow.ts fed into the state machine of src/lib/view-state.ts. The drawer
 * (`signIn`) also handles the provider's return and, when Connect is pressed, prepares the link
 * to the provider; the settings view only shows and disconnects (it never receives `oauthContext`).
 */
import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { useCallback, useEffect, useMemo, useReducer, useState } from 'react';
import type { DashboardUserId } from '../common/connection-id';
import type { AppConfig, ConfigResult } from '../lib/app-config';
import { BackendError } from '../lib/backend-client';
import { type Access, completeSignIn, disconnect, fetchProfile, type FlowContext, FlowError, HandledReturns, loadAccess, prepareSignIn, returnIsFor } from '../lib/connection-flow';
import { readServices, type ServicesResult } from '../lib/services';
import { dashboard } from '../lib/dashboard';
import { INITIAL_STATE, transition, type ViewEvent, type ViewState, type Who } from '../lib/view-state';

export interface ConnectionControls {
  state: ViewState;
  config?: AppConfig;
  retry: () => void;
  /** Prepares a sign-in (a new state) and puts its provider link into the state. */
  connect: () => void;
  disconnect: () => void;
  /** Loads the connection again and calls the provider with its token (who is connected). */
  checkProvider: () => void;
}

/** One per loaded view (the page), as `oauthContext` stays until the Dashboard reloads it. */
const handled = new HandledReturns();

const messageOf = (err: unknown) =>
  err instanceof BackendError && err.status === 0 ? err.message : err instanceof Error ? err.message : 'Something went wrong.';

/** What loading found, with who is connected when it found an access token (asking the provider proves it still works). */
async function loaded(ctx: FlowContext, access: Access, failure?: string): Promise<ViewEvent> {
  let who: Who = null;
  if (access.kind === 'usable') {
    try {
      const profile = await fetchProfile(ctx, access);
      who = profile ? { profile } : null;
    } catch (err) {
      if (err instanceof BackendError && err.code === 'reconnect_required') return { type: 'loaded', access: { kind: 'lost' }, who: null, failure };
      who = { error: messageOf(err) };
    }
  }
  return { type: 'loaded', access, who, failure };
}

/** The manifest's providers (services.ts). Keyed by content, not identity: a new but equal constants object must not restart the flow. */
export function useServices(context: ExtensionContextValue): ServicesResult {
  const constantsKey = JSON.stringify(context.environment.constants ?? {});
  return useMemo(() => readServices(JSON.parse(constantsKey)), [constantsKey]);
}

export interface ConnectionOptions {
  signIn: boolean;
  appId: string;
  /** The provider this view shows, or why the configuration is unusable. */
  configResult: ConfigResult;
  /** Beside other providers: a return is taken only by the view of the provider it was started for, or by the `first` when it matches none. */
  among?: { first: boolean };
}

export function useConnection(context: ExtensionContextValue, options: ConnectionOptions): ConnectionControls {
  const { signIn, appId, configResult } = options;
  const [several, first] = [options.among !== undefined, options.among?.first ?? false];
  const userId = context.userContext?.id;
  const accountId = context.userContext?.account?.id;
  const mode = context.environment.mode;
  const oauth = context.oauthContext;
  const [code, oauthState, verifier, oauthError] = [oauth?.code, oauth?.state, oauth?.verifier, oauth?.error];
  const [state, dispatch] = useReducer(transition, INITIAL_STATE);
  // Each load (the first, Retry, after Disconnect, Check connection) is a new attempt.
  const [attempt, setAttempt] = useState(0);

  const ctx = useMemo<FlowContext | undefined>(() => {
    if (!configResult.ok || !userId || !accountId) return undefined;
    const caller: DashboardUserId = { userId, accountId, mode };
    return { config: configResult.config, caller, appId, handled };
  }, [configResult, userId, accountId, mode, appId]);

  useEffect(() => {
    let cancelled = false;
    const send = (event: ViewEvent) => !cancelled && dispatch(event);
    send({ type: 'reload' });
    (async () => {
      if (!configResult.ok) return send({ type: 'blocked', state: { name: 'config_error', problems: configResult.problems } });
      if (!ctx) return send({ type: 'blocked', state: { name: 'no_user' } });
      if (!(await dashboard().isPermissionAuthorized('secret_write'))) return send({ type: 'blocked', state: { name: 'needs_permission' } });
      const ret = { code, state: oauthState, verifier, error: oauthError };
      if (signIn && handled.isNew(ret) && (!several || (await returnIsFor(ctx, ret, first)))) {
        send({ type: 'return_received' });
        try {
          return send(await loaded(ctx, await completeSignIn(ctx, ret)));
        } catch (err) {
          if (!(err instanceof FlowError)) throw err;
          // A stale or replayed return over a working connection: show the connection.
          const current = err.kind === 'state_mismatch' ? await loadAccess(ctx) : ({ kind: 'none' } as const);
          return send(await loaded(ctx, current, current.kind === 'usable' ? undefined : err.message));
        }
      }
      send(await loaded(ctx, await loadAccess(ctx)));
    })().catch((err) => send({ type: 'failed', message: messageOf(err) }));
    return () => {
      cancelled = true;
    };
  }, [configResult, ctx, signIn, several, first, code, oauthState, verifier, oauthError, attempt]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);

  const connect = useCallback(() => {
    if (!ctx || !signIn || state.name !== 'signed_out') return;
    dispatch({ type: 'connect_pressed' });
    prepareSignIn(ctx).then(
      (authorizeUrl) => dispatch({ type: 'sign_in_prepared', authorizeUrl }),
      (err) => dispatch({ type: 'failed', message: messageOf(err) }),
    );
  }, [ctx, signIn, state.name]);

  const onDisconnect = useCallback(() => {
    if (!ctx) return;
    dispatch({ type: 'disconnect_pressed' });
    disconnect(ctx).then(retry, (err) => dispatch({ type: 'failed', message: messageOf(err) }));
  }, [ctx, retry]);

  return { state, config: configResult.ok ? configResult.config : undefined, retry, connect, disconnect: onDisconnect, checkProvider: retry };
}
