/**
 * One of the app's views in its own worker, with a receiver of its own: a new `context` (another
 * user, a reload after a change) is a new worker and a new tree, so nothing of the one before stays.
 */
import { createController, createRemoteReceiver, RemoteRenderer, type RemoteReceiver } from '@remote-ui/react/host';
import { createEndpoint, fromWebWorker } from '@remote-ui/rpc';
import { useEffect, useState } from 'react';
import { HOST_COMPONENTS, UnknownComponent } from './components';
import { hostCallsFor } from './host-calls';

const controller = createController(HOST_COMPONENTS, {
  renderComponent({ component }, { renderDefault }) {
    return Object.hasOwn(HOST_COMPONENTS, component.type) ? renderDefault() : <UnknownComponent key={component.id} name={String(component.type)} />;
  },
});

export interface ViewFrameProps {
  view: string;
  context: object;
  session: number;
  build: number;
  hostCalls: boolean;
  notify(message: string): void;
}

export function ViewFrame({ view, context, session, build, hostCalls, notify }: ViewFrameProps) {
  const [mounted, setMounted] = useState<{ receiver: RemoteReceiver; id: number }>();
  useEffect(() => {
    const next = createRemoteReceiver();
    const worker = new Worker(`/extension.js?build=${build}`);
    const endpoint = createEndpoint<{ render(...args: unknown[]): void }>(fromWebWorker(worker));
    endpoint.expose(hostCallsFor(session, { hostCalls, notify }));
    void endpoint.call.render(next.receive, view, context);
    setMounted((before) => ({ receiver: next, id: (before?.id ?? 0) + 1 }));
    return () => worker.terminate();
  }, [view, context, session, build, hostCalls, notify]);
  return mounted ? <RemoteRenderer key={mounted.id} receiver={mounted.receiver} controller={controller} /> : null;
}
