/**
 * The settings view: connection status, expiry and Disconnect. Connecting happens in the
 * drawer, because only the drawer receives the provider's answer (`oauthContext`).
 */
import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { Badge, Box, Button, Inline, SettingsView, Spinner } from '@stripe/ui-extension-sdk/ui';
import { ConnectionDetails } from '../components/ConnectionDetails';
import { StatusBanner } from '../components/StatusBanner';
import { useConnection } from '../hooks/useConnection';
import { APP_ID } from '../common/app-id';
import { isSignedOut } from '../lib/view-state';

const AppSettings = (context: ExtensionContextValue) => {
  const { state, config, retry, disconnect } = useConnection(context, { signIn: false, appId: APP_ID });
  const provider = config?.label ?? 'OAuth provider';

  return (
    <SettingsView>
      <Box css={{ stack: 'y', gap: 'medium' }}>
        {/* A lost connection is said once, by its badge below. */}
        {!(isSignedOut(state) && state.reason.kind === 'reconnect') && <StatusBanner state={state} onRetry={retry} />}
        {(state.name === 'loading' || state.name === 'disconnecting') && <Spinner />}
        {state.name === 'connected' && (
          <>
            <Inline>
              <Badge type="positive">Connected</Badge>
            </Inline>
            <ConnectionDetails state={state} provider={provider} scope={config?.connectionScope ?? 'user'} />
            <Box>
              <Button type="destructive" onPress={disconnect}>Disconnect</Button>
            </Box>
          </>
        )}
        {isSignedOut(state) && (
          <>
            <Inline>
              <Badge type={state.reason.kind === 'reconnect' ? 'warning' : 'neutral'}>{state.reason.kind === 'reconnect' ? 'Reconnect required' : 'Not connected'}</Badge>
            </Inline>
            <Inline>
              {state.reason.kind === 'reconnect' ? 'The provider no longer accepts this connection. To connect again' : `To connect your ${provider} account`}, open this app
              from the Dashboard&apos;s app drawer and choose Connect.
            </Inline>
          </>
        )}
      </Box>
    </SettingsView>
  );
};

export default AppSettings;
