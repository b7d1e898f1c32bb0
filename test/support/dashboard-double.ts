/**
 * Test doubles of the Dashboard-only calls (the one adapter module, src/lib/dashboard.ts),
 * doing what the Dashboard does: PKCE state with a kept verifier, signatures with the app
 * signing secret, and a Stripe client confined to the user's account — here the official SDK
 * talking to the Secret Store emulator.
 */
import { createHash, randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import type { DashboardAdapter } from '../../src/lib/dashboard';
import { signedPayload } from '../../server/signature';
import { createStripeClient } from '../../server/stripe-client';
import { KEYS, SIGNING_SECRET } from './broker';

export interface DashboardDouble extends DashboardAdapter {
  /**
   * What the Dashboard hands the drawer after the provider's redirect: for a state it issued,
   * the code, the verifier and the custom state value embedded by `createOAuthState(nonce)`.
   */
  oauthContextFor(callback: URL): { code?: string; state?: string; verifier?: string; error?: string };
}

export function dashboardDouble(options: {
  userId: string;
  accountId: string;
  mode: 'test' | 'live';
  emulatorUrl: string;
  permissions?: string[];
}): DashboardDouble {
  const issued = new Map<string, { verifier: string; nonce: string }>();
  let client: Stripe | undefined;
  return {
    createOAuthState: async (nonce) => {
      const verifier = randomBytes(32).toString('base64url');
      const state = `${randomBytes(16).toString('base64url')}.${nonce}`;
      issued.set(state, { verifier, nonce });
      return { state, challenge: createHash('sha256').update(verifier).digest('base64url') };
    },
    fetchStripeSignature: async ({ mode }) =>
      Stripe.webhooks.generateTestHeaderString({
        payload: signedPayload({ user_id: options.userId, account_id: options.accountId, mode }),
        secret: SIGNING_SECRET,
      }),
    stripe: () =>
      (client ??= createStripeClient(KEYS[options.mode], { apiBase: options.emulatorUrl, maxNetworkRetries: 0, stripeAccount: options.accountId })),
    isPermissionAuthorized: async (permission) => (options.permissions ?? ['secret_write', 'event_read']).includes(permission),
    oauthContextFor: (callback) => {
      const state = callback.searchParams.get('state') ?? '';
      const known = issued.get(state);
      const error = callback.searchParams.get('error') ?? undefined;
      if (!known) return { error: error ?? 'invalid_state' };
      const code = callback.searchParams.get('code') ?? undefined;
      return { code, error, state: known.nonce, verifier: code ? known.verifier : undefined };
    },
  };
}
