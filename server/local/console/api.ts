/**
 * The console page's API on its server, shared by both sides: the endpoints by name, and what
 * the page reads from `GET state`.
 */
export const CONSOLE_API = {
  /** The SDK's host calls the Dashboard answers with state or secrets. */
  createOAuthState: '/host/create-oauth-state',
  fetchStripeSignature: '/host/fetch-stripe-signature',
  stripeApiFetch: '/host/stripe-api-fetch',
  /** The provider's redirect, as it would go to the Dashboard's return URL. */
  oauthReturn: '/oauth/return',
  /** The oauthContext of a return, once. */
  takeReturn: '/console/return',
  state: '/console/state',
  select: '/console/select',
  expire: '/console/expire',
  revoke: '/console/revoke',
} as const;

export interface ConsoleIdentity {
  user: { id: string; name: string };
  account: { id: string; name: string };
  mode: 'test' | 'live';
}

export interface ConsoleSnapshot {
  identity: ConsoleIdentity;
  users: Array<{ id: string; name: string }>;
  accounts: Array<{ id: string; name: string }>;
  /** The manifest constants the views receive. */
  constants: Record<string, string>;
  /** The current user's secrets, tokens masked. */
  secrets: Array<{ name: string; expires_at: number | null; generation: number | null; masked: string }>;
  /** The backend's refresh and exchange log lines for the current connection, newest first. */
  history: Array<{ time: number; event: string; outcome: string; latencyMs?: number }>;
}
