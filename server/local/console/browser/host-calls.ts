/** The SDK's host calls, as the Dashboard answers them (the stateful ones by the console server). */
import { CONSOLE_API } from '../api';
import { post } from './api-client';

export const PERMISSIONS = ['secret_write', 'event_read'];

export const hostCalls = {
  createOAuthState: (custom = '') => post(CONSOLE_API.createOAuthState, { custom }),
  fetchStripeSignature: (additional: object) => post<{ signature: string }>(CONSOLE_API.fetchStripeSignature, { additional }).then((a) => a.signature),
  stripeApiFetch: (path: string, init: object = {}) => post(CONSOLE_API.stripeApiFetch, { path, init }),
  supportsFetchAppEmbeddedKey: async () => false,
  fetchAppEmbeddedKey: async () => {
    throw new Error('The offline console has no app embedded key.');
  },
  isPermissionAuthorized: async (permission: string) => PERMISSIONS.includes(permission),
  getUserAuthorizedPermissions: async () => PERMISSIONS,
  isSourceInAuthorizedCSP: async () => true,
  showToast: async (message: string) => {
    console.info(`toast: ${message}`);
    return { update: async () => undefined, dismiss: async () => undefined };
  },
  clipboardWriteText: (text: string) => navigator.clipboard?.writeText(text),
  navigateToDashboardRoute: async () => undefined,
  refreshDashboardData: async () => undefined,
};
