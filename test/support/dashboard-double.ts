/**
 * The Dashboard's side of the SDK's host calls for view tests, installed where the SDK looks for
 * it (`globalThis.__StripeExtExports.endpoint`), so the views run their real SDK calls
 * (createOAuthState, fetchStripeSignature, stripeApiFetch, isPermissionAuthorized). Answered by
 * server/local/dashboard/host-calls.ts, written from Stripe's docs and shared with the offline
 * Dashboard, never by the backend's code: PKCE state with a kept verifier, signatures in
 * Stripe's documented order, and the API as the user against the Secret Store emulator.
 *
 * Two paths, as the SDK chooses between them: by default the host supports the app embedded key
 * (today's Dashboard), so the SDK calls https://api.stripe.com itself — `fetch` to that origin
 * is answered here, everything else goes out as usual; `hostCalls: true` is the older host's
 * path (`fetchStripeSignature` and `stripeApiFetch` as host calls). The SDK picks a path once per
 * module registry, so one test file uses one path.
 */
import { DashboardUser, EmbeddedKeys, OAuthContext, OAuthStates, SigningOrder, stripeApiFetchAs, stripeSignature } from '../../server/local/dashboard/host-calls';
import { KEYS, SIGNING_SECRET } from './fixtures';

export interface DashboardDouble {
  /** What the Dashboard hands the drawer after the provider's redirect to its return URL. */
  oauthContextFor(callback: URL): OAuthContext;
  stripeApiFetch: ReturnType<typeof stripeApiFetchAs>;
  /** How the view reached Stripe so far: host calls, and requests to api.stripe.com with an embedded key. */
  used: { hostCalls: number; embeddedKey: number };
}

const networkFetch = globalThis.fetch;

export interface DashboardOptions extends DashboardUser {
  emulatorUrl: string;
  permissions?: string[];
  order?: SigningOrder;
  /** The older host: no app embedded key, signatures and API calls as host calls. */
  hostCalls?: boolean;
}

/** Installs a Dashboard for one user (replacing any earlier one) and returns its handle. */
export function installDashboard(options: DashboardOptions): DashboardDouble {
  const states = new OAuthStates();
  const permissions = options.permissions ?? ['secret_write', 'event_read'];
  const hostFetch = stripeApiFetchAs(options, options.emulatorUrl, KEYS[options.mode]);
  const keys = new EmbeddedKeys({ apiBase: options.emulatorUrl, secretKeys: KEYS, signingSecret: SIGNING_SECRET, order: options.order });
  const used = { hostCalls: 0, embeddedKey: 0 };
  const call = {
    createOAuthState: async (custom?: string) => states.create(custom),
    fetchStripeSignature: async (additional: Record<string, unknown>) => {
      used.hostCalls++;
      return stripeSignature(SIGNING_SECRET, options, additional, { order: options.order });
    },
    stripeApiFetch: (url: string, init?: object) => {
      used.hostCalls++;
      return hostFetch(url, init);
    },
    supportsFetchAppEmbeddedKey: async () => !options.hostCalls,
    fetchAppEmbeddedKey: async () => keys.issue(options),
    isPermissionAuthorized: async (permission: string) => permissions.includes(permission),
  };
  (globalThis as { __StripeExtExports?: object }).__StripeExtExports = { endpoint: { call } };
  globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (new URL(url).origin !== 'https://api.stripe.com') return networkFetch(input, init);
    used.embeddedKey++;
    return keys.fetch(url, init as Parameters<EmbeddedKeys['fetch']>[1]);
  };
  return { oauthContextFor: (callback) => states.contextFor(callback), stripeApiFetch: hostFetch, used };
}

export function uninstallDashboard(): void {
  delete (globalThis as { __StripeExtExports?: object }).__StripeExtExports;
  globalThis.fetch = networkFetch;
}
