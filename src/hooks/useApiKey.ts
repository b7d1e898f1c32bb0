/**
 * An API-key provider's connection as view state (docs/services.md): its status from the
 * backend, Save (the backend verifies the key with the provider first) and Disconnect. The key is
 * the account's, shared by its users; it goes to the backend once and never comes back.
 */
import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import { useCallback, useEffect, useState } from 'react';
import { BackendError, callBackend } from '../lib/backend-client';
import type { KeyService } from '../lib/services';

export type KeyState =
  | { name: 'loading' }
  | { name: 'not_connected' }
  | { name: 'connected' }
  /** The provider refused the saved key (a 401 from its API): a new one is needed. */
  | { name: 'rejected' }
  | { name: 'saving' }
  | { name: 'failed'; message: string };

interface Status {
  status: 'connected' | 'reconnect_required' | 'not_connected';
}

const stateOf = ({ status }: Status): KeyState => (status === 'connected' ? { name: 'connected' } : status === 'reconnect_required' ? { name: 'rejected' } : { name: 'not_connected' });

export function useApiKey(context: ExtensionContextValue, service: KeyService) {
  const userId = context.userContext?.id;
  const accountId = context.userContext?.account?.id;
  const mode = context.environment.mode;
  const [state, setState] = useState<KeyState>({ name: 'loading' });
  const [attempt, setAttempt] = useState(0);

  const call = useCallback(async (path: string, fields?: Record<string, unknown>) => {
    if (!userId || !accountId) throw new Error('The Dashboard did not say who you are. Reload the page and open the app again.');
    return callBackend<Status>(service, { userId, accountId, mode }, path, fields);
  }, [service, userId, accountId, mode]);

  /** The outcome of `work`, unless the view has moved on (another identity, or unmounted) meanwhile. */
  const run = useCallback((work: () => Promise<Status>, live: () => boolean = () => true) => {
    work().then(
      (status) => live() && setState(stateOf(status)),
      (err: unknown) => live() && setState({ name: 'failed', message: err instanceof BackendError || err instanceof Error ? err.message : 'Something went wrong.' }),
    );
  }, []);

  useEffect(() => {
    let current = true;
    setState({ name: 'loading' });
    run(() => call('/api/connection/status'), () => current);
    return () => {
      current = false;
    };
  }, [run, call, attempt]);

  const save = useCallback((key: string) => {
    setState({ name: 'saving' });
    run(() => call('/api/credentials', { api_key: key }));
  }, [run, call]);

  const disconnect = useCallback(() => {
    setState({ name: 'loading' });
    run(() => call('/api/oauth/disconnect'));
  }, [run, call]);

  return { state, save, disconnect, retry: () => setAttempt((n) => n + 1) };
}
