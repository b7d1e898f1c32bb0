/**
 * The settings view: each provider's connection status, expiry and Disconnect. Connecting happens
 * in the drawer, because only the drawer receives the provider's answer (`oauthContext`).
 */
import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { Badge, Box, Button, Divider, Inline, SettingsView, Spinner } from '@stripe/ui-extension-sdk/ui';
import { Fragment, useMemo } from 'react';
import { ApiKeySection } from '../components/ApiKeySection';
import { ConnectionDetails } from '../components/ConnectionDetails';
import { StatusBanner } from '../components/StatusBanner';
import { useConnection, useServices } from '../hooks/useConnection';
import { APP_ID } from '../common/app-id';
import type { ConfigResult } from '../lib/app-config';
import { type OAuthService, oneProvider } from '../lib/services';
import { isSignedOut } from '../lib/view-state';

function ProviderSettings({ context, configResult, titled }: { context: ExtensionContextValue; configResult: ConfigResult; titled: boolean }) {
  const { state, config, retry, disconnect } = useConnection(context, { signIn: false, appId: APP_ID, configResult });
  const provider = config?.label ?? 'OAuth provider';
  return (
    <Box css={{ stack: 'y', gap: 'medium' }}>
      {titled && <Inline css={{ fontWeight: 'semibold' }}>{provider}</Inline>}
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
            <Button type="destructive" onPress={disconnect}>{titled ? `Disconnect ${provider}` : 'Disconnect'}</Button>
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
  );
}

/** A named OAuth provider's settings, its configuration kept stable across renders. */
function NamedProviderSettings({ context, service }: { context: ExtensionContextValue; service: OAuthService }) {
  const configResult = useMemo(() => ({ ok: true as const, config: service }), [service]);
  return <ProviderSettings context={context} configResult={configResult} titled />;
}

const AppSettings = (context: ExtensionContextValue) => {
  const result = useServices(context);
  const one = useMemo(() => oneProvider(result), [result]);
  return (
    <SettingsView>
      {one ? <ProviderSettings context={context} configResult={one} titled={false} /> : (
        <Box css={{ stack: 'y', gap: 'large' }}>
          {result.ok && result.services.map((service, i) => (
            <Fragment key={service.name}>
              {i > 0 && <Divider />}
              {service.kind === 'oauth' ? <NamedProviderSettings context={context} service={service} /> : <ApiKeySection context={context} service={service} settings />}
            </Fragment>
          ))}
        </Box>
      )}
    </SettingsView>
  );
};

export default AppSettings;
