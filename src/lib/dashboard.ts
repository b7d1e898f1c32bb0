/**
 * The Dashboard-only calls, behind one adapter: the PKCE state, request signatures, the
 * extension's own Stripe client, and the permission check. In the Dashboard these are the
 * SDK's host calls; tests and the local console install their own with `setDashboardAdapter`.
 */
import createOAuthState from '@stripe/ui-extension-sdk/oauth';
import fetchStripeSignature from '@stripe/ui-extension-sdk/signature';
import { createHttpClient, STRIPE_API_KEY } from '@stripe/ui-extension-sdk/http_client';
import { isPermissionAuthorized } from '@stripe/ui-extension-sdk/utils';
import Stripe from 'stripe';
import { STRIPE_API_VERSION } from './stripe-api-version';

export interface DashboardAdapter {
  /**
   * `{state, challenge}` with `nonce` embedded in the state; the Dashboard keeps the verifier
   * and returns it, with the code and the state, in `oauthContext`.
   */
  createOAuthState(nonce: string): Promise<{ state: string; challenge: string }>;
  /** Signs `{user_id, account_id, ...payload}` with the app signing secret. */
  fetchStripeSignature(payload: { mode: 'test' | 'live' }): Promise<string>;
  /** A Stripe client acting as the current Dashboard user (it reaches only their user scope). */
  stripe(): Stripe;
  isPermissionAuthorized(permission: string): Promise<boolean>;
}

let stripeClient: Stripe | undefined;

const dashboardAdapter: DashboardAdapter = {
  createOAuthState: (nonce) => createOAuthState(nonce),
  fetchStripeSignature: (payload) => fetchStripeSignature(payload),
  stripe: () =>
    (stripeClient ??= new Stripe(STRIPE_API_KEY, {
      httpClient: createHttpClient() as Stripe.HttpClient,
      apiVersion: STRIPE_API_VERSION,
    })),
  isPermissionAuthorized: (permission) => isPermissionAuthorized(permission),
};

let current: DashboardAdapter = dashboardAdapter;

export function dashboard(): DashboardAdapter {
  return current;
}

/** Replaces the Dashboard calls (tests, the local console); `undefined` restores the real ones. */
export function setDashboardAdapter(adapter: DashboardAdapter | undefined): void {
  current = adapter ?? dashboardAdapter;
}
