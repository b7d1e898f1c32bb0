/**
 * The drawer view (stripe.dashboard.drawer.default): the only viewport that receives
 * `oauthContext`, so it runs the whole connect flow — for the one provider, or for each of the
 * manifest's SERVICES side by side (services.ts), each return taken by the provider it was started for.
 */
import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { Box, Button, ContextView, Divider, SignInView } from '@stripe/ui-extension-sdk/ui';
import { Fragment, useMemo } from 'react';
import { ApiKeySection } from '../components/ApiKeySection';
import { ConnectionDetails } from '../components/ConnectionDetails';
import { Progress, ProviderSection, SignInButton, signInAction } from '../components/ProviderSection';
import { StatusBanner } from '../components/StatusBanner';
import { useConnection, useServices } from '../hooks/useConnection';
import { APP_ID } from '../common/app-id';
import type { ConfigResult } from '../lib/app-config';
import { oneProvider } from '../lib/services';
import { isSignedOut } from '../lib/view-state';

/** The one unnamed provider: the SDK's sign-in screen first, then the connection. */
function OneProvider({ context, configResult }: { context: ExtensionContextValue; configResult: ConfigResult }) {
  const controls = useConnection(context, { signIn: true, appId: APP_ID, configResult });
  const { state, config, retry, disconnect, checkProvider } = controls;
  const provider = config?.label ?? 'OAuth provider';

  // First connection: the SDK's sign-in screen. After a failure or a revoked grant: the reason, and Connect again.
  if (isSignedOut(state) && state.reason.kind === 'new') {
    return (
      <SignInView
        description={config?.connectionScope === 'account'
          ? `Connect a ${provider} account for everyone on this Stripe account. Its tokens are kept in the Stripe Secret Store, in the account's scope.`
          : `Connect your ${provider} account. Your tokens are kept in the Stripe Secret Store, visible only to you.`}
        primaryAction={signInAction(controls, provider, `Connect ${provider}`)}
      />
    );
  }

  return (
    <ContextView title={state.name === 'connected' ? `Connected to ${provider}` : provider}>
      <StatusBanner state={state} onRetry={retry} />
      <Progress name={state.name} />
      {isSignedOut(state) && <SignInButton action={signInAction(controls, provider, `Connect ${provider} again`)} />}
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
}

const App = (context: ExtensionContextValue) => {
  const result = useServices(context);
  const one = useMemo(() => oneProvider(result), [result]);
  if (one) return <OneProvider context={context} configResult={one} />;
  // A return matching no pending sign-in is said by the first OAuth provider's section.
  const first = result.ok ? result.services.findIndex((service) => service.kind === 'oauth') : -1;
  return (
    <ContextView title="Connections">
      <Box css={{ stack: 'y', gap: 'large' }}>
        {result.ok && result.services.map((service, i) => (
          <Fragment key={service.name}>
            {i > 0 && <Divider />}
            {service.kind === 'oauth'
              ? <ProviderSection context={context} service={service} first={i === first} />
              : <ApiKeySection context={context} service={service} />}
          </Fragment>
        ))}
      </Box>
    </ContextView>
  );
};

export default App;
