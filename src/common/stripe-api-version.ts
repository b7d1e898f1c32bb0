/** The Stripe API version both the extension's and the backend's `stripe` clients pin. */
export const STRIPE_API_VERSION = '2026-10-28.endive' as const;
