/**
 * The Dashboard's side of the SDK's host calls for view tests, installed where the SDK looks for
 * it (`globalThis.__StripeExtExports.endpoint`), so the views run their real SDK calls
 * (createOAuthState, fetchStripeSignature, stripeApiFetch, isPermissionAuthorized). Answered by
 * server/local/dashboard/host-calls.ts, written from Stripe's docs and shared with the offline
 * Dashboard, never by the backend's code: PKCE state with a kept verifier, signatures in
 * Stripe's documented order, and `stripeApiFetch` as the user against the Secret Store emulator.
 */
import { DashboardUser, OAuthContext, OAuthStates, SigningOrder, stripeApiFetchAs, stripeSignature } from '../../server/local/dashboard/host-calls';
import { KEYS, SIGNING_SECRET } from './fixtures';

export interface DashboardDouble {
  /** What the Dashboard hands the drawer after the provider's redirect to its return URL. */
  oauthContextFor(callback: URL): OAuthContext;
  stripeApiFetch: ReturnType<typeof stripeApiFetchAs>;
}

/** Installs a Dashboard for one user (replacing any earlier one) and returns its handle. */
export function installDashboard(options: DashboardUser & { emulatorUrl: string; permissions?: string[]; order?: SigningOrder }): DashboardDouble {
  const states = new OAuthStates();
  const permissions = options.permissions ?? ['secret_write', 'event_read'];
  const stripeApiFetch = stripeApiFetchAs(options, options.emulatorUrl, KEYS[options.mode]);
  const call = {
    createOAuthState: async (custom?: string) => states.create(custom),
    fetchStripeSignature: async (additional: Record<string, unknown>) => stripeSignature(SIGNING_SECRET, options, additional, { order: options.order }),
    stripeApiFetch,
    supportsFetchAppEmbeddedKey: async () => false,
    isPermissionAuthorized: async (permission: string) => permissions.includes(permission),
  };
  (globalThis as { __StripeExtExports?: object }).__StripeExtExports = { endpoint: { call } };
  return { oauthContextFor: (callback) => states.contextFor(callback), stripeApiFetch };
}

export function uninstallDashboard(): void {
  delete (globalThis as { __StripeExtExports?: object }).__StripeExtExports;
}
