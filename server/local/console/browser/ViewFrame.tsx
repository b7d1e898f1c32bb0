/** One of the app's views in its own worker; a new `context` (another user, a reopened drawer) is a new worker. */
import { createController, createRemoteReceiver, RemoteRenderer } from '@remote-ui/react/host';
import { createEndpoint, fromWebWorker } from '@remote-ui/rpc';
import { useEffect, useMemo } from 'react';
import { HOST_COMPONENTS, UnknownComponent } from './components';
import { hostCalls } from './host-calls';

const controller = createController(HOST_COMPONENTS, {
  renderComponent({ component }, { renderDefault }) {
    return Object.hasOwn(HOST_COMPONENTS, component.type) ? renderDefault() : <UnknownComponent key={component.id} name={String(component.type)} />;
  },
});

export function ViewFrame({ view, context }: { view: 'App' | 'AppSettings'; context: object }) {
  const receiver = useMemo(() => createRemoteReceiver(), []);
  useEffect(() => {
    const worker = new Worker('/extension.js');
    const endpoint = createEndpoint<{ render(...args: unknown[]): void }>(fromWebWorker(worker));
    endpoint.expose(hostCalls);
    void endpoint.call.render(receiver.receive, view, context);
    return () => worker.terminate();
  }, [receiver, view, context]);
  return <RemoteRenderer receiver={receiver} controller={controller} />;
}
