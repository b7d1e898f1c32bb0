import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { Badge, Box, Button, Inline, Spinner } from '@stripe/ui-extension-sdk/ui';
import { useMemo } from 'react';
import { APP_ID } from '../common/app-id';
import { type ConnectionControls, useConnection } from '../hooks/useConnection';
import type { OAuthService } from '../lib/services';
import { isSignedOut } from '../lib/view-state';
import { ConnectionDetails } from './ConnectionDetails';
import { StatusBanner } from './StatusBanner';

export const PROGRESS: Partial<Record<string, string>> = { loading: 'Loading…', exchanging: 'Finishing sign-in…', disconnecting: 'Disconnecting…' };

/** Connect prepares a sign-in (a new state); the link to the provider then opens in a new tab, as Stripe's docs do. */
export function signInAction({ state, connect }: Pick<ConnectionControls, 'state' | 'connect'>, provider: string, label: string) {
  return state.name === 'ready_to_sign_in'
    ? { label: `Continue to ${provider}`, href: state.authorizeUrl, target: '_blank' as const }
    : { label: state.name === 'preparing_sign_in' ? 'Preparing…' : label, onPress: connect };
}

export function SignInButton({ action }: { action: ReturnType<typeof signInAction> }) {
  return 'href' in action
    ? <Button type="primary" href={action.href} target="_blank">{action.label}</Button>
    : <Button type="primary" onPress={action.onPress}>{action.label}</Button>;
}

export function Progress({ name }: { name: string }) {
  const progress = PROGRESS[name];
  return progress ? (
    <Box css={{ stack: 'x', gap: 'small', alignY: 'center' }}>
      <Spinner />
      <Inline>{progress}</Inline>
    </Box>
  ) : null;
}

/** One OAuth provider beside others in the drawer: its state, Connect, and when connected who, Check and Disconnect. */
export function ProviderSection({ context, service, first }: { context: ExtensionContextValue; service: OAuthService; first: boolean }) {
  const configResult = useMemo(() => ({ ok: true as const, config: service }), [service]);
  const controls = useConnection(context, { signIn: true, appId: APP_ID, configResult, among: { first } });
  const { state, retry, disconnect, checkProvider } = controls;
  return (
    <Box css={{ stack: 'y', gap: 'small' }}>
      <Box css={{ stack: 'x', gap: 'small', alignY: 'center' }}>
        <Inline css={{ fontWeight: 'semibold' }}>{service.label}</Inline>
        {state.name === 'connected' && <Badge type="positive">Connected</Badge>}
        {isSignedOut(state) && <Badge type={state.reason.kind === 'reconnect' ? 'warning' : 'neutral'}>{state.reason.kind === 'reconnect' ? 'Reconnect required' : 'Not connected'}</Badge>}
      </Box>
      <StatusBanner state={state} onRetry={retry} />
      <Progress name={state.name} />
      {isSignedOut(state) && <Box><SignInButton action={signInAction(controls, service.label, `Connect ${service.label}`)} /></Box>}
      {state.name === 'connected' && (
        <>
          <ConnectionDetails state={state} provider={service.label} scope={service.connectionScope} />
          <Box css={{ stack: 'x', gap: 'small' }}>
            <Button onPress={checkProvider}>Check connection</Button>
            <Button type="destructive" onPress={disconnect}>Disconnect {service.label}</Button>
          </Box>
        </>
      )}
    </Box>
  );
}
