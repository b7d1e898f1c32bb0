/**
 * The console page's API on its server, shared by both sides: the endpoints by name, and what
 * the page reads from `GET state`.
 */
export const CONSOLE_API = {
  /** The SDK's host calls the Dashboard answers with state or secrets (each names the view's session). */
  createOAuthState: '/host/create-oauth-state',
  fetchStripeSignature: '/host/fetch-stripe-signature',
  stripeApiFetch: '/host/stripe-api-fetch',
  fetchAppEmbeddedKey: '/host/fetch-app-embedded-key',
  /** https://api.stripe.com as the views' worker reaches it with an app embedded key. */
  stripeApi: '/stripe-api',
  /** The provider's redirect, as it would go to the Dashboard's return URL. */
  oauthReturn: '/oauth/return',
  /** The oauthContext of a return, once. */
  takeReturn: '/console/return',
  state: '/console/state',
  select: '/console/select',
  expire: '/console/expire',
  revoke: '/console/revoke',
  /** A new dev provider API key of the current user's provider user, answered once. */
  apiKey: '/console/api-key',
  /** The backend's connection events (EVENTS_WEBHOOK_URL under npm start). */
  events: '/console/events',
} as const;

export interface ConsoleIdentity {
  /** `providerUser`: the dev provider's user whose API key the console makes for this Dashboard user. */
  user: { id: string; name: string; providerUser: string };
  account: { id: string; name: string };
  mode: 'test' | 'live';
}

/** A row of the history panels, newest first; `count` repeats of the same row are shown once. */
export interface HistoryRow {
  time: number;
  event: string;
  outcome: string;
  latencyMs?: number;
  count: number;
}

export interface ProxiedCall {
  time: number;
  method: string;
  path: string;
  /** The provider's status, or the broker's error code. */
  outcome: string;
  latencyMs: number;
}

export interface EventRow {
  id: string;
  type: string;
  created: number;
  reason: string | null;
  /** delivered (received here), pending (attempts so far, the last error) or failed. */
  delivery: 'delivered' | 'pending' | 'failed';
  attempts: number;
  receivedAt: number | null;
  lastError: string | null;
}

/** A service of the backend (docs/services.md): `name` absent for the one unnamed provider. */
export interface Service {
  name?: string;
  kind: 'oauth' | 'api_key';
}

/** A row of a per-connection panel, with the service (provider name, '' for the unnamed one) it is about. */
export type OfService<T> = T & { service: string };

export interface SecretRow {
  name: string;
  scope: 'user' | 'account';
  /** The service whose secret it is; '' for the unnamed provider, null for one shared by all (the sign-in state). */
  service: string | null;
  expires_at: number | null;
  generation: number | null;
  /** Tokens masked; an API key is never shown at all. */
  masked: string;
}

export interface ConsoleSnapshot {
  identity: ConsoleIdentity;
  /** A new one for each identity: host calls of a view from an earlier session are refused. */
  session: number;
  /** Grows whenever the current connection changed (an event, a refresh, a console action): the views reload. */
  revision: number;
  /** The views' build (the page reloads its views when it changes) and its error, if the last one failed. */
  build: { number: number; error?: string };
  views: { drawer: string; settings: string };
  /** The older Dashboard (CONSOLE_HOST_CALLS=1): no app embedded key, signatures as host calls. */
  hostCalls: boolean;
  users: Array<ConsoleIdentity['user']>;
  accounts: Array<{ id: string; name: string }>;
  /** The manifest constants the views receive. */
  constants: Record<string, unknown>;
  /** The backend's services, each with the key of the current identity's connection to it. */
  services: Array<Service & { connection: string }>;
  /** The secrets of the current identity's connections (the user's and the account's scopes they use). */
  secrets: SecretRow[];
  /** The backend's refresh, exchange, API-key and disconnect lines for those connections, newest first. */
  history: Array<OfService<HistoryRow>>;
  proxied: Array<OfService<ProxiedCall>>;
  events: Array<OfService<EventRow>>;
  /**
   * Other Dashboard users of this account and mode connected to a service as the same provider
   * user as the current one (the same ID token subject): in one browser, the provider's login is
   * shared, so a second user's Connect signs in as the first unless they sign out there.
   */
  sharedLogins: Array<{ service: string; subject: string; users: string[] }>;
}
