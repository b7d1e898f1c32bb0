/**
 * The SDK's host calls, as the Dashboard answers them (the stateful ones by the console server),
 * for a view opened in one session: each names it, so the server refuses a call from a view of
 * an earlier user, account or mode. `hostCalls` is the older Dashboard, without the app embedded
 * key: the SDK then signs and reaches the API through host calls.
 */
import { CONSOLE_API } from '../api';
import { post } from './api-client';

export const PERMISSIONS = ['secret_write', 'event_read'];

export function hostCallsFor(session: number, options: { hostCalls: boolean; notify(message: string): void }) {
  return {
    createOAuthState: (custom = '') => post(CONSOLE_API.createOAuthState, { session, custom }),
    fetchStripeSignature: (additional: object) => post<{ signature: string }>(CONSOLE_API.fetchStripeSignature, { session, additional }).then((a) => a.signature),
    stripeApiFetch: (path: string, init: object = {}) => post(CONSOLE_API.stripeApiFetch, { session, path, init }),
    supportsFetchAppEmbeddedKey: async () => !options.hostCalls,
    fetchAppEmbeddedKey: () => post<{ key: string }>(CONSOLE_API.fetchAppEmbeddedKey, { session }).then((a) => a.key),
    isPermissionAuthorized: async (permission: string) => PERMISSIONS.includes(permission),
    getUserAuthorizedPermissions: async () => PERMISSIONS,
    isSourceInAuthorizedCSP: async () => true,
    showToast: async (message: string) => {
      options.notify(message);
      return { update: async () => undefined, dismiss: async () => undefined };
    },
    clipboardWriteText: (text: string) => navigator.clipboard?.writeText(text),
    navigateToDashboardRoute: async () => undefined,
    refreshDashboardData: async () => undefined,
  };
}
