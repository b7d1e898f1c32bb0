import { PropertyList, PropertyListItem } from '@stripe/ui-extension-sdk/ui';
import type { ViewState, Who } from '../lib/view-state';
import type { ConnectionScope } from '../common/connection-id';
import { usePassed } from '../hooks/usePassed';

const when = (unixSeconds: number) => new Date(unixSeconds * 1000).toLocaleString();

const describe = (who: Who) => {
  if (!who) return 'Unknown';
  if ('error' in who) return who.error;
  const { name, email } = who.profile;
  return `${name}${email && email !== name ? ` (${email})` : ''}`;
};

const WHOSE: Record<ConnectionScope, string> = { user: 'Yours only', account: "Shared by everyone on this Stripe account" };

/** Who is connected, whose connection it is, with which scope, and until when the access token it loaded is valid (or since when it is not). */
export function ConnectionDetails({ state, provider, scope }: { state: Extract<ViewState, { name: 'connected' }>; provider: string; scope: ConnectionScope }) {
  const { expiresAt } = state.access;
  const expired = usePassed(expiresAt);
  return (
    <PropertyList>
      <PropertyListItem label={`${provider} account`} value={describe(state.who)} />
      <PropertyListItem label="Connection" value={WHOSE[scope]} />
      <PropertyListItem label="Scope" value={state.access.scope ?? 'as granted'} />
      <PropertyListItem
        label={expired ? 'Access token expired' : 'Access token expires'}
        value={expired ? `${when(expiresAt)}; the next request for it gets a new one` : when(expiresAt)}
      />
    </PropertyList>
  );
}
