/**
 * The drawer view (stripe.dashboard.drawer.default): the only viewport that receives
 * `oauthContext`, so it runs the whole connect flow.
 */
import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { Box, Button, ContextView, Inline, SignInView, Spinner } from '@stripe/ui-extension-sdk/ui';
import { ConnectionDetails } from '../components/ConnectionDetails';
import { StatusBanner } from '../components/StatusBanner';
import { useConnection } from '../hooks/useConnection';
import { APP_ID } from '../common/app-id';
import { isSignedOut } from '../lib/view-state';

const PROGRESS: Partial<Record<string, string>> = { loading: 'Loading…', exchanging: 'Finishing sign-in…', disconnecting: 'Disconnecting…' };

const App = (context: ExtensionContextValue) => {
  const { state, config, retry, connect, disconnect, checkProvider } = useConnection(context, { signIn: true, appId: APP_ID });
  const provider = config?.label ?? 'OAuth provider';

  // Connect prepares a sign-in (a new state); the link to the provider then opens in a new tab, as Stripe's docs do.
  const signInAction = (label: string) =>
    state.name === 'ready_to_sign_in'
      ? { label: `Continue to ${provider}`, href: state.authorizeUrl, target: '_blank' as const }
      : { label: state.name === 'preparing_sign_in' ? 'Preparing…' : label, onPress: connect };

  // First connection: the SDK's sign-in screen. After a failure or a revoked grant: the reason, and Connect again.
  if (isSignedOut(state) && state.reason.kind === 'new') {
    return (
      <SignInView
        description={config?.connectionScope === 'account'
          ? `Connect a ${provider} account for everyone on this Stripe account. Its tokens are kept in the Stripe Secret Store, in the account's scope.`
          : `Connect your ${provider} account. Your tokens are kept in the Stripe Secret Store, visible only to you.`}
        primaryAction={signInAction(`Connect ${provider}`)}
      />
    );
  }

  const again = isSignedOut(state) ? signInAction(`Connect ${provider} again`) : undefined;
  const progress = PROGRESS[state.name];
  return (
    <ContextView title={state.name === 'connected' ? `Connected to ${provider}` : provider}>
      <StatusBanner state={state} onRetry={retry} />
      {progress && (
        <Box css={{ stack: 'x', gap: 'small', alignY: 'center' }}>
          <Spinner />
          <Inline>{progress}</Inline>
        </Box>
      )}
      {again && ('href' in again
        ? <Button type="primary" href={again.href} target="_blank">{again.label}</Button>
        : <Button type="primary" onPress={again.onPress}>{again.label}</Button>)}
      {state.name === 'connected' && (
        <Box css={{ stack: 'y', gap: 'medium' }}>
          <ConnectionDetails state={state} provider={provider} scope={config?.connectionScope ?? 'user'} />
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
