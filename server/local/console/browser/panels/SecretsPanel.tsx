/** The connections' secrets in the Secret Store, and per service: the access token's countdown and the buttons that expire or revoke, or a dev API key to paste. */
import { useState } from 'react';
import { CONSOLE_API, type ConsoleSnapshot, type Service } from '../../api';
import { post } from '../api-client';
import type { useConsole } from '../use-console';
import { serviceName, several } from './service';
import { when } from './when';

type Act = ReturnType<typeof useConsole>['act'];

/** The access token as the countdown tells it: past its expiry it is never shown as still valid. */
function countdown(expiresAt: number | null | undefined, now: number): string {
  if (!expiresAt) return 'No access token.';
  const left = expiresAt - Math.floor(now / 1000);
  return left > 0 ? `Access token expires in ${left} s.` : `Access token expired ${-left} s ago; the next request for it refreshes.`;
}

function OAuthActions({ snapshot, service, clock, busy, act }: { snapshot: ConsoleSnapshot; service: Service; clock: number; busy: boolean; act: Act }) {
  const own = snapshot.secrets.filter((s) => s.service === (service.name ?? ''));
  const access = own.find((s) => s.name.endsWith('.access'));
  const refresh = own.find((s) => s.name.endsWith('.refresh'));
  const body = service.name ? { provider: service.name } : {};
  return (
    <div className="service-actions" data-service={service.name ?? ''}>
      <p className="countdown" data-countdown>{several(snapshot) ? <strong>{serviceName(service.name ?? '')}: </strong> : null}{countdown(access?.expires_at, clock)}</p>
      <div className="actions">
        <button type="button" className="button button-secondary" disabled={busy || !access} title={access ? undefined : 'There is no access token to expire.'}
          onClick={() => void act(CONSOLE_API.expire, body)}>Expire the access token now</button>
        <button type="button" className="button button-destructive" disabled={busy || !refresh} title={refresh ? undefined : 'There is no refresh token to revoke.'}
          onClick={() => void act(CONSOLE_API.revoke, body)}>Revoke the grant at the provider</button>
      </div>
    </div>
  );
}

/** A dev provider API key of the current user, shown once (only this component's state holds it) until Done. */
function ApiKeyMaker({ service, busy, notify }: { service: Service; busy: boolean; notify(message: string): void }) {
  const [made, setMade] = useState<{ api_key: string; user: string }>();
  const make = () => post<{ api_key: string; user: string }>(CONSOLE_API.apiKey).then(setMade, (err: Error) => notify(err.message));
  return (
    <div className="service-actions" data-service={service.name}>
      <p><strong>{serviceName(service.name!)}</strong>: an API key service (the dev provider&apos;s API).</p>
      {made ? (
        <div className="api-key" data-api-key>
          <p>The API key of {made.user} at the dev provider, shown this once: copy it into the drawer&apos;s API key field.</p>
          <code className="payload" data-new-key>{made.api_key}</code>
          <button type="button" className="button button-secondary" onClick={() => setMade(undefined)}>Done</button>
        </div>
      ) : (
        <div className="actions">
          <button type="button" className="button button-secondary" disabled={busy} onClick={() => void make()}>Make a dev API key</button>
        </div>
      )}
    </div>
  );
}

export function SecretsPanel({ snapshot, clock, busy, act, notify }: { snapshot: ConsoleSnapshot; clock: number; busy: boolean; act: Act; notify(message: string): void }) {
  const scope = snapshot.constants.CONNECTION_SCOPE === 'account' ? 'account scope' : 'user scope';
  return (
    <div className="panel" data-panel="secrets">
      <h3 className="panel-title">The connections&apos; secrets in the Secret Store <small>(OAuth tokens in the {scope}{snapshot.services.some((s) => s.kind === 'api_key') ? ', API keys in the account scope' : ''})</small></h3>
      {snapshot.secrets.length === 0 ? <p className="empty">none</p> : (
        <div className="table-wrap">
          <table className="table">
            <thead><tr>{several(snapshot) ? <th className="shrink">service</th> : null}<th className="shrink">name</th><th className="shrink">scope</th><th className="shrink">expires_at</th><th className="shrink num">generation</th><th>payload</th></tr></thead>
            <tbody>{snapshot.secrets.map((s) => (
              <tr key={`${s.scope}/${s.name}`} data-secret={s.name}>
                {several(snapshot) ? <td>{serviceName(s.service)}</td> : null}
                <td className="name">{s.name}</td><td>{s.scope}</td><td className="nowrap">{when(s.expires_at)}</td><td className="num" data-generation>{s.generation ?? '–'}</td><td><code className="payload">{s.masked}</code></td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
      <div className="panel-footer">
        {snapshot.services.map((service) => service.kind === 'oauth'
          ? <OAuthActions key={service.connection} snapshot={snapshot} service={service} clock={clock} busy={busy} act={act} />
          : <ApiKeyMaker key={service.connection} service={service} busy={busy} notify={notify} />)}
      </div>
    </div>
  );
}
