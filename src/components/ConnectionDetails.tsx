import { PropertyList, PropertyListItem } from '@stripe/ui-extension-sdk/ui';
import type { ViewState, Who } from '../lib/view-state';

const when = (unixSeconds: number) => new Date(unixSeconds * 1000).toLocaleString();

const describe = (who: Who) => {
  if (!who) return 'Unknown';
  if ('error' in who) return who.error;
  const { name, email } = who.profile;
  return `${name}${email && email !== name ? ` (${email})` : ''}`;
};

/** Who is connected, with which scope, and until when the current access token is valid. */
export function ConnectionDetails({ state, provider }: { state: Extract<ViewState, { name: 'connected' }>; provider: string }) {
  return (
    <PropertyList>
      <PropertyListItem label={`${provider} account`} value={describe(state.who)} />
      <PropertyListItem label="Scope" value={state.access.scope ?? 'as granted'} />
      <PropertyListItem label="Access token expires" value={when(state.access.expiresAt)} />
    </PropertyList>
  );
}
