/**
 * The Dashboard-only calls for view tests, from server/local/dashboard/host-calls.ts (written
 * from Stripe's docs, not from the backend): PKCE state with a kept verifier, signatures with
 * the app signing secret in Stripe's documented order, and `stripeApiFetch` as the user against
 * the Secret Store emulator.
 */
import type { DashboardAdapter } from '../../src/lib/dashboard';
import { DashboardUser, OAuthContext, OAuthStates, SigningOrder, stripeApiFetchAs, stripeSignature } from '../../server/local/dashboard/host-calls';
import { KEYS, SIGNING_SECRET } from './broker';

export interface DashboardDouble extends DashboardAdapter {
  /** What the Dashboard hands the drawer after the provider's redirect to its return URL. */
  oauthContextFor(callback: URL): OAuthContext;
}

export function dashboardDouble(options: DashboardUser & { emulatorUrl: string; permissions?: string[]; order?: SigningOrder }): DashboardDouble {
  const states = new OAuthStates();
  return {
    createOAuthState: async (nonce) => states.create(nonce),
    fetchStripeSignature: async (claims) => stripeSignature(SIGNING_SECRET, options, { ...claims }, { order: options.order }),
    stripeApiFetch: stripeApiFetchAs(options, options.emulatorUrl, KEYS[options.mode]) as DashboardAdapter['stripeApiFetch'],
    isPermissionAuthorized: async (permission) => (options.permissions ?? ['secret_write', 'event_read']).includes(permission),
    oauthContextFor: (callback) => states.contextFor(callback),
  };
}
