/**
 * The offline console's page: it plays the Dashboard's part for this app's views. Each view runs
 * in a Web Worker (extension-worker.tsx) and renders through remote-ui into the DOM components of
 * components.tsx (ViewFrame.tsx); the SDK's host calls are answered by the console server
 * (../console-server.ts), which keeps the PKCE verifiers, signs as Stripe documents and reaches
 * the Secret Store emulator as the current user. Beside the views, the panels (panels/).
 */
import { createRoot } from 'react-dom/client';
import { HistoryPanel } from './panels/HistoryPanel';
import { IdentityPanel } from './panels/IdentityPanel';
import { SecretsPanel } from './panels/SecretsPanel';
import { useConsole } from './use-console';
import { ViewFrame } from './ViewFrame';

function Console() {
  const { snapshot, contexts, mounts, clock, act } = useConsole();
  if (!snapshot || !contexts) return <p>Starting the offline Dashboard…</p>;
  return (
    <main>
      <section className="column">
        <h2>Drawer <small>src/views/App.tsx</small></h2>
        {/* A button that changes the tokens reopens the views, as a Dashboard reload would. */}
        <div className="drawer"><ViewFrame key={mounts} view="App" context={contexts.drawer} /></div>
        <h2>Settings <small>src/views/AppSettings.tsx</small></h2>
        <div className="drawer"><ViewFrame key={mounts} view="AppSettings" context={contexts.settings} /></div>
      </section>
      <section className="column panels">
        <IdentityPanel snapshot={snapshot} act={act} />
        <SecretsPanel snapshot={snapshot} clock={clock} act={act} />
        <HistoryPanel history={snapshot.history} />
      </section>
    </main>
  );
}

createRoot(document.getElementById('console')!).render(<Console />);
