import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { Badge, Banner, Box, Button, Inline, TextField } from '@stripe/ui-extension-sdk/ui';
import { useState } from 'react';
import { useApiKey } from '../hooks/useApiKey';
import type { KeyService } from '../lib/services';

const BADGES = {
  connected: <Badge type="positive">Key saved</Badge>,
  rejected: <Badge type="warning">Key refused</Badge>,
  not_connected: <Badge type="neutral">No key</Badge>,
};

/** An API-key provider: its state, a masked input and Save, and Disconnect. The saved key is never shown (the backend never answers it). */
export function ApiKeySection({ context, service, settings = false }: { context: ExtensionContextValue; service: KeyService; settings?: boolean }) {
  const { state, save, disconnect, retry } = useApiKey(context, service);
  const [key, setKey] = useState('');
  const saved = state.name === 'connected' || state.name === 'rejected';
  return (
    <Box css={{ stack: 'y', gap: 'small' }}>
      <Box css={{ stack: 'x', gap: 'small', alignY: 'center' }}>
        <Inline css={{ fontWeight: 'semibold' }}>{service.label}</Inline>
        {state.name in BADGES && BADGES[state.name as keyof typeof BADGES]}
      </Box>
      {state.name === 'failed' && (
        <>
          <Banner type="critical" title={`${service.label}: that did not work`} description={state.message} />
          <Box><Button onPress={retry}>Retry</Button></Box>
        </>
      )}
      {state.name === 'rejected' && <Inline>The provider refused the saved key. Save a new one.</Inline>}
      {saved && <Inline>Shared by everyone on this Stripe account.</Inline>}
      {!settings && state.name !== 'loading' && (
        <Box css={{ stack: 'x', gap: 'small', alignY: 'bottom' }}>
          <TextField label="API key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} disabled={state.name === 'saving'} />
          <Button type="primary" disabled={key.length === 0 || state.name === 'saving'} onPress={() => { save(key); setKey(''); }}>
            {state.name === 'saving' ? 'Saving…' : 'Save'}
          </Button>
        </Box>
      )}
      {saved && <Box><Button type="destructive" onPress={disconnect}>Disconnect {service.label}</Button></Box>}
    </Box>
  );
}
