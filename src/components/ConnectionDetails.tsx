import { PropertyList, PropertyListItem } from '@stripe/ui-extension-sdk/ui';
import type { ViewState } from '../hooks/useConnection';

type Connected = Extract<ViewState, { phase: 'connected' }>;

const when = (unixSeconds: number) => new Date(unixSeconds * 1000).toLocaleString();

/** Who is connected, with which scope, and until when the current access token is valid. */
export function ConnectionDetails({ state, provider }: { state: Connected; provider: string }) {
  const who = state.profile ? `${state.profile.name}${state.profile.email && state.profile.email !== state.profile.name ? ` (${state.profile.email})` : ''}` : state.profileError ?? 'Unknown';
  return (
    <PropertyList>
      <PropertyListItem label={`${provider} account`} value={who} />
      <PropertyListItem label="Scope" value={state.connection.scope ?? 'as granted'} />
      <PropertyListItem label="Access token expires" value={when(state.connection.expiresAt)} />
    </PropertyList>
  );
}
