import { Banner, Button } from '@stripe/ui-extension-sdk/ui';
import type { ViewState } from '../hooks/useConnection';

/** The Banner for states that need the user's attention; nothing for the others. */
export function StatusBanner({ state, onRetry }: { state: ViewState; onRetry: () => void }) {
  switch (state.phase) {
    case 'config_error':
      return <Banner type="critical" title="This app is not configured" description={state.problems.join(' ')} />;
    case 'no_user':
      return <Banner type="critical" title="No Dashboard user" description="The Dashboard did not say who you are. Reload the page and open the app again." />;
    case 'needs_permission':
      return (
        <Banner
          type="caution"
          title="Permission needed"
          description="This install has not granted the secret_write permission, which stores your connection. Ask an account admin to review the app's permissions."
        />
      );
    case 'unavailable':
      return (
        <>
          <Banner type="critical" title="Can't reach the connection service" description={state.message} />
          <Button onPress={onRetry}>Retry</Button>
        </>
      );
    case 'signed_out':
      if (state.error) return <Banner type="critical" title="Connecting failed" description={state.error} />;
      if (state.reconnect) return <Banner type="caution" title="Reconnect required" description="The provider no longer accepts this connection. Connect again." />;
      return null;
    default:
      return null;
  }
}
