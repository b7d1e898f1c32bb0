/**
 * The extension side of the offline console: a Web Worker, as the Dashboard runs each view in
 * a sandbox of its own. It renders one of this app's views — the files in src/views, unmodified —
 * into a remote-ui root whose updates go to the host page, and installs the SDK's host endpoint
 * (`globalThis.__StripeExtExports.endpoint`), so the views' Dashboard-only calls
 * (createOAuthState, fetchStripeSignature, stripeApiFetch, permissions…) reach the host.
 */
import { createRemoteRoot, createRoot } from '@remote-ui/react';
import { createEndpoint, fromWebWorker, retain, type MessageEndpoint } from '@remote-ui/rpc';
import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { createElement } from 'react';
import App from '../../../../src/views/App';
import AppSettings from '../../../../src/views/AppSettings';

const VIEWS = { App, AppSettings };
type ViewName = keyof typeof VIEWS;

const endpoint = createEndpoint(fromWebWorker(self as unknown as Parameters<typeof fromWebWorker>[0]) as MessageEndpoint);
(globalThis as { __StripeExtExports?: object }).__StripeExtExports = { endpoint };

endpoint.expose({
  render(channel: Parameters<typeof createRemoteRoot>[0], view: ViewName, context: ExtensionContextValue) {
    retain(channel);
    const root = createRemoteRoot(channel);
    createRoot(root).render(createElement(VIEWS[view], context));
    root.mount();
  },
});
