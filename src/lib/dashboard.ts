/**
 * The Dashboard-only calls, behind one adapter: the PKCE state, request signatures, the
 * Dashboard-authenticated Stripe API (`stripeApiFetch`, which reaches only the current user's
 * scope), and the permission check. They are the SDK's host calls; the tests and the offline
 * Dashboard answer them where the SDK looks (`globalThis.__StripeExtExports.endpoint`).
 */
import stripeApiFetch, { type StripeApiFetch } from '@stripe/ui-extension-sdk/api_fetch';
import createOAuthState from '@stripe/ui-extension-sdk/oauth';
import fetchStripeSignature from '@stripe/ui-extension-sdk/signature';
import { isPermissionAuthorized } from '@stripe/ui-extension-sdk/utils';
import type { SignatureClaims } from '../common/signed-request';

export interface DashboardAdapter {
  /**
   * `{state, challenge}` with `nonce` embedded in the state; the Dashboard keeps the verifier
   * and returns it, with the code and the state, in `oauthContext`.
   */
  createOAuthState(nonce: string): Promise<{ state: string; challenge: string }>;
  /** The app signing secret's signature over the claims and the current user and account. */
  fetchStripeSignature(claims: SignatureClaims): Promise<string>;
  /** A Stripe API request as the current Dashboard user; `url` is a full https://api.stripe.com URL. */
  stripeApiFetch: StripeApiFetch;
  isPermissionAuthorized(permission: string): Promise<boolean>;
}

const dashboardAdapter: DashboardAdapter = {
  createOAuthState: (nonce) => createOAuthState(nonce),
  fetchStripeSignature: (claims) => fetchStripeSignature({ ...claims }),
  stripeApiFetch: (url, init) => stripeApiFetch(url, init),
  isPermissionAuthorized: (permission) => isPermissionAuthorized(permission),
};

export function dashboard(): DashboardAdapter {
  return dashboardAdapter;
}
