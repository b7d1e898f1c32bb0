/**
 * The offline console's page: it plays the Dashboard's part for this app's views. Each view runs
 * in a Web Worker (extension-worker.tsx) and renders through remote-ui into the DOM components of
 * components.tsx (ViewFrame.tsx); the SDK's host calls are answered by the console server
 * (../console-server.ts), which keeps the PKCE verifiers, signs as Stripe documents and reaches
 * the Secret Store emulator as the current user. Beside the views, the panels (panels/).
 */
import { createRoot } from 'react-dom/client';
import { EventsPanel } from './panels/EventsPanel';
import { HistoryPanel } from './panels/HistoryPanel';
import { IdentityPanel } from './panels/IdentityPanel';
import { ProxyPanel } from './panels/ProxyPanel';
import { SecretsPanel } from './panels/SecretsPanel';
import { several } from './panels/service';
import { useConsole } from './use-console';
import { ViewFrame } from './ViewFrame';

function Console() {
  const { snapshot, mounted, contexts, clock, busy, notice, dismiss, notify, act, select } = useConsole();
  if (!snapshot || !mounted || !contexts) return <p>Starting the offline Dashboard…</p>;
  const frame = { session: mounted.session, build: mounted.build, hostCalls: snapshot.hostCalls, notify };
  return (
    <>
      {notice ? (
        <div className="notice" role="alert">
          <span>{notice}</span>
          <button type="button" className="button button-secondary" onClick={dismiss}>Dismiss</button>
        </div>
      ) : null}
      {snapshot.build.error ? <div className="notice notice-critical" role="alert" data-build-error><span>The views did not build; showing the last good build. {snapshot.build.error}</span></div> : null}
      <main>
        <section className="column">
          <h2>Drawer <small>src/views/{snapshot.views.drawer}.tsx</small></h2>
          <div className="drawer" data-view="drawer"><ViewFrame view={snapshot.views.drawer} context={contexts.drawer} {...frame} /></div>
          <h2>Settings <small>src/views/{snapshot.views.settings}.tsx</small></h2>
          <div className="drawer" data-view="settings"><ViewFrame view={snapshot.views.settings} context={contexts.settings} {...frame} /></div>
        </section>
        <section className="column panels">
          <IdentityPanel snapshot={snapshot} busy={busy} select={select} />
          <SecretsPanel snapshot={snapshot} clock={clock} busy={busy} act={act} notify={notify} />
          <HistoryPanel history={snapshot.history} services={several(snapshot)} />
          <EventsPanel events={snapshot.events} services={several(snapshot)} />
          <ProxyPanel calls={snapshot.proxied} services={several(snapshot)} />
        </section>
      </main>
    </>
  );
}

createRoot(document.getElementById('console')!).render(<Console />);
