import { Banner, Button } from '@stripe/ui-extension-sdk/ui';
import { isSignedOut, type ViewState } from '../lib/view-state';

/** The Banner for states that need the user's attention; nothing for the others. */
export function StatusBanner({ state, onRetry }: { state: ViewState; onRetry: () => void }) {
  switch (state.name) {
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
    default:
      if (!isSignedOut(state)) return null;
      if (state.reason.kind === 'failed') return <Banner type="critical" title="Connecting failed" description={state.reason.message} />;
      if (state.reason.kind === 'reconnect') return <Banner type="caution" title="Reconnect required" description="The provider no longer accepts this connection. Connect again." />;
      return null;
  }
}
