/**
 * The extension side of the offline console: a Web Worker, as the Dashboard runs each view in
 * a sandbox of its own. It renders one of the app's views — the manifest's files in src/views,
 * unmodified, bundled by ../app-source.ts — into a remote-ui root whose updates go to the host
 * page, and installs the SDK's host endpoint (`globalThis.__StripeExtExports.endpoint`), so the
 * views' Dashboard-only calls (createOAuthState, fetchStripeSignature, stripeApiFetch,
 * permissions…) reach the host. Requests to https://api.stripe.com (the SDK's app embedded key
 * path) go to the console server, which answers as Stripe would for the key it issued.
 */
import { createRemoteRoot, createRoot } from '@remote-ui/react';
import { createEndpoint, fromWebWorker, retain, type MessageEndpoint } from '@remote-ui/rpc';
import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { type ComponentType, createElement } from 'react';
import { CONSOLE_API } from '../api';

const STRIPE_API = 'https://api.stripe.com';

export function startExtensionWorker(views: Record<string, ComponentType<ExtensionContextValue>>): void {
  const networkFetch = self.fetch.bind(self);
  self.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input), self.location.href);
    return url.origin === STRIPE_API ? networkFetch(`${CONSOLE_API.stripeApi}${url.pathname}${url.search}`, init) : networkFetch(input, init);
  };

  const endpoint = createEndpoint(fromWebWorker(self as unknown as Parameters<typeof fromWebWorker>[0]) as MessageEndpoint);
  (globalThis as { __StripeExtExports?: object }).__StripeExtExports = { endpoint };

  endpoint.expose({
    render(channel: Parameters<typeof createRemoteRoot>[0], view: string, context: ExtensionContextValue) {
      retain(channel);
      const root = createRemoteRoot(channel);
      createRoot(root).render(createElement(views[view], context));
      root.mount();
    },
  });
}
