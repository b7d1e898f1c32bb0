/**
 * The drawer view (stripe.dashboard.drawer.default): the only viewport that receives
 * `oauthContext`, so it runs the whole connect flow.
 */
import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { Box, Button, ContextView, Inline, SignInView, Spinner } from '@stripe/ui-extension-sdk/ui';
import { ConnectionDetails } from '../components/ConnectionDetails';
import { StatusBanner } from '../components/StatusBanner';
import { useConnection } from '../hooks/useConnection';
import { APP_ID } from '../shared/app-id';

const App = (context: ExtensionContextValue) => {
  const { state, config, retry, connect, disconnect, checkProvider } = useConnection(context, { signIn: true, appId: APP_ID });
  const provider = config?.label ?? 'OAuth provider';

  // Connect prepares a sign-in (a new state); the link to the provider then opens in a new tab, as Stripe's docs do.
  const signInAction = (label: string) =>
    state.phase !== 'signed_out' || !state.authorizeUrl
      ? { label: state.phase === 'signed_out' && state.preparing ? 'Preparing…' : label, onPress: connect }
      : { label: `Continue to ${provider}`, href: state.authorizeUrl, target: '_blank' as const };

  // First connection: the SDK's sign-in screen. After a failure or a revoked grant: the reason, and Connect again.
  if (state.phase === 'signed_out' && !state.error && !state.reconnect) {
    return (
      <SignInView
        description={`Connect your ${provider} account. Your tokens are kept in the Stripe Secret Store, visible only to you.`}
        primaryAction={signInAction(`Connect ${provider}`)}
      />
    );
  }

  const again = state.phase === 'signed_out' ? signInAction(`Connect ${provider} again`) : undefined;
  return (
    <ContextView title={state.phase === 'connected' ? `Connected to ${provider}` : provider}>
      <StatusBanner state={state} onRetry={retry} />
      {(state.phase === 'loading' || state.phase === 'exchanging' || state.phase === 'disconnecting') && (
        <Box css={{ stack: 'x', gap: 'small', alignY: 'center' }}>
          <Spinner />
          <Inline>{state.phase === 'exchanging' ? 'Finishing sign-in…' : state.phase === 'disconnecting' ? 'Disconnecting…' : 'Loading…'}</Inline>
        </Box>
      )}
      {again && ('href' in again
        ? <Button type="primary" href={again.href} target="_blank">{again.label}</Button>
        : <Button type="primary" onPress={again.onPress}>{again.label}</Button>)}
      {state.phase === 'connected' && (
        <Box css={{ stack: 'y', gap: 'medium' }}>
          <ConnectionDetails state={state} provider={provider} />
          <Box css={{ stack: 'x', gap: 'small' }}>
            <Button onPress={checkProvider}>Check connection</Button>
            <Button type="destructive" onPress={disconnect}>Disconnect</Button>
          </Box>
        </Box>
      )}
    </ContextView>
  );
};

export default App;
