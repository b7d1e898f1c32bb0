/**
 * The dev provider's two clients (documented in the README): a public PKCE client, as a UI
 * extension exchanging codes itself would be, and a confidential client with a secret, as the
 * backend exchange mode can use. Both get refresh tokens (`offline_access` with prompt=consent).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClientMetadata } from 'oidc-provider';
import { dashboardRedirectUri } from '../../../src/common/redirect-uri';

export const PUBLIC_CLIENT_ID = 'stripe-app-dev';
export const CONFIDENTIAL_CLIENT_ID = 'stripe-app-dev-confidential';
export const CONFIDENTIAL_CLIENT_SECRET = 'dev-client-secret-not-for-production';
export const TEST_REDIRECT_URI = 'http://127.0.0.1/oauth/callback';
export const DEV_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

/** The manifest's app id, so the Dashboard's redirect URIs work with the dev provider too. */
function appId(): string {
  const manifest = JSON.parse(readFileSync(path.resolve(__dirname, '../../../stripe-app.json'), 'utf8')) as { id: string };
  return manifest.id;
}

export function devClients(extraRedirectUris: string[]): ClientMetadata[] {
  const id = appId();
  const redirect_uris = [dashboardRedirectUri(id, 'test'), dashboardRedirectUri(id, 'live'), TEST_REDIRECT_URI, ...extraRedirectUris];
  const common = { redirect_uris, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code' as const] };
  return [
    { ...common, client_id: PUBLIC_CLIENT_ID, token_endpoint_auth_method: 'none' },
    { ...common, client_id: CONFIDENTIAL_CLIENT_ID, client_secret: CONFIDENTIAL_CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_post' },
  ];
}
