/**
 * The dev OAuth provider in a child process (oidc-provider is ESM-only and runs as the real
 * command does), with helpers for its test controls.
 */
import * as client from 'openid-client';
import { startCommand } from './commands';

export interface TestProvider {
  issuer: string;
  control: (path: string, body?: object) => Promise<unknown>;
  stop: () => Promise<number | null>;
}

export async function startTestProvider(args: string[] = []): Promise<TestProvider> {
  const command = await startCommand('server/local/oauth-provider-cli.ts', ['--port', '0', '--data', ':memory:', '--test-controls', 'true', ...args]);
  const control = async (path: string, body?: object) => {
    const res = await fetch(`${command.url}${path}`, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {});
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return { issuer: command.url, control, stop: command.stop };
}

export function discover(issuer: string, clientId: string, clientSecret?: string): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), clientId, clientSecret, clientSecret ? client.ClientSecretPost(clientSecret) : client.None(), {
    execute: [client.allowInsecureRequests],
  });
}

export interface ProviderStats {
  /** Token-endpoint answers by grant type and status. */
  token: Record<string, Record<string, number>>;
  revocations: number;
}

export const providerStats = async (stack: { provider: TestProvider }) => (await stack.provider.control('/dev/stats')) as ProviderStats;

/** Refresh-token grants the provider answered with `status` (200: refreshes that happened). */
export const refreshCount = async (stack: { provider: TestProvider }, status = '200') => (await providerStats(stack)).token.refresh_token?.[status] ?? 0;
