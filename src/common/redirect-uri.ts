/**
 * Where the provider sends the user back: the Dashboard's OAuth return URL for this app,
 * separate for test and live mode. Both must be registered at the provider.
 */
import type { StripeMode } from './connection-id';

export function dashboardRedirectUri(appId: string, mode: StripeMode): string {
  const base = mode === 'live' ? 'https://dashboard.stripe.com' : 'https://dashboard.stripe.com/test';
  return `${base}/apps-oauth/${appId}`;
}
