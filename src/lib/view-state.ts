/**
 * The views' state as an explicit state machine: every state named, one transition function.
 * The hook (src/hooks/useConnection.ts) runs the work — loading, the provider's return, Connect,
 * Disconnect — and feeds each outcome back in as an event; nothing else changes the state.
 */
import type { Access, Profile } from './connection-flow';

/** Why the user is signed out, which the view says above the Connect button. */
export type SignedOutReason =
  | { kind: 'new' }
  /** The provider no longer accepts the connection. */
  | { kind: 'reconnect' }
  /** A sign-in that did not complete; `reconnect` when a lost connection sits behind it. */
  | { kind: 'failed'; message: string; reconnect: boolean };

/** Who is connected, from the provider's profile endpoint (none configured: null). */
export type Who = { profile: Profile } | { error: string } | null;

export type ViewState =
  | { name: 'loading' }
  | { name: 'config_error'; problems: string[] }
  | { name: 'no_user' }
  | { name: 'needs_permission' }
  | { name: 'exchanging' }
  | { name: 'signed_out'; reason: SignedOutReason }
  /** Connect was pressed: the sign-in (a new state) is being created. */
  | { name: 'preparing_sign_in'; reason: SignedOutReason }
  /** The link to the provider is ready. */
  | { name: 'ready_to_sign_in'; reason: SignedOutReason; authorizeUrl: string }
  | { name: 'connected'; access: Extract<Access, { kind: 'usable' }>; who: Who }
  | { name: 'disconnecting' }
  | { name: 'unavailable'; message: string };

export type ViewEvent =
  | { type: 'blocked'; state: Extract<ViewState, { name: 'config_error' | 'no_user' | 'needs_permission' }> }
  | { type: 'reload' }
  | { type: 'return_received' }
  /** What loading found; `failure` is a sign-in that did not complete on the way. */
  | { type: 'loaded'; access: Access; who: Who; failure?: string }
  | { type: 'connect_pressed' }
  | { type: 'sign_in_prepared'; authorizeUrl: string }
  | { type: 'disconnect_pressed' }
  | { type: 'failed'; message: string };

export const INITIAL_STATE: ViewState = { name: 'loading' };

function signedOut(access: Exclude<Access, { kind: 'usable' }>, failure?: string): ViewState {
  const reconnect = access.kind === 'lost';
  if (failure !== undefined) return { name: 'signed_out', reason: { kind: 'failed', message: failure, reconnect } };
  return { name: 'signed_out', reason: reconnect ? { kind: 'reconnect' } : { kind: 'new' } };
}

/** The next state; an event that does not apply to the current state leaves it as it is. */
export function transition(state: ViewState, event: ViewEvent): ViewState {
  switch (event.type) {
    case 'blocked':
      return event.state;
    case 'reload':
      return { name: 'loading' };
    case 'return_received':
      return { name: 'exchanging' };
    case 'loaded':
      return event.access.kind === 'usable' ? { name: 'connected', access: event.access, who: event.who } : signedOut(event.access, event.failure);
    case 'connect_pressed':
      return state.name === 'signed_out' ? { name: 'preparing_sign_in', reason: state.reason } : state;
    case 'sign_in_prepared':
      return state.name === 'preparing_sign_in' ? { name: 'ready_to_sign_in', reason: state.reason, authorizeUrl: event.authorizeUrl } : state;
    case 'disconnect_pressed':
      return state.name === 'connected' ? { name: 'disconnecting' } : state;
    case 'failed':
      return { name: 'unavailable', message: event.message };
  }
}

/** The states with a Connect button: signed out, however far the sign-in got. */
export const isSignedOut = (state: ViewState): state is Extract<ViewState, { name: 'signed_out' | 'preparing_sign_in' | 'ready_to_sign_in' }> =>
  state.name === 'signed_out' || state.name === 'preparing_sign_in' || state.name === 'ready_to_sign_in';
