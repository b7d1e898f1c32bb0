/**
 * The backend's environment file (`.env`, or --env FILE): its configuration loads as the backend
 * loads it (server/config.ts), and it agrees with the manifest the extension runs with. Problems
 * name variables, never their values (secrets live in the file); ids and URLs are shown.
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { AppConfig } from '../../src/lib/app-config';
import { ConfigError, loadConfig } from '../config';
import { withPreset } from '../preset-env';
import type { CheckTarget, Problem } from './problem';

export function readEnvFile(file: string): Record<string, string | undefined> {
  return parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
}

export function loadProblems(env: Record<string, string | undefined>, envName: string): Problem[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((problem) => ({ where: envName, problem, fix: 'see docs/configuration.md for the variable' }));
  }
}

const trimmed = (env: Record<string, string | undefined>, name: string) => env[name]?.trim() || undefined;
const withoutSlash = (url: string) => url.replace(/\/+$/, '');

/** What the backend reads: the file, with its preset's defaults filled in (an unknown preset is loadProblems' to report). */
function asRead(env: Record<string, string | undefined>): Record<string, string | undefined> {
  try {
    return withPreset(env);
  } catch (err) {
    if (err instanceof ConfigError) return env;
    throw err;
  }
}

/** The values both sides must share; `config` is the extension's (undefined when its constants do not load). */
export function agreementProblems(file: Record<string, string | undefined>, envName: string, { manifest, manifestName }: CheckTarget, config?: AppConfig): Problem[] {
  const env = asRead(file);
  const problems: Problem[] = [];
  const where = `${envName} vs ${manifestName}`;
  const appId = trimmed(env, 'STRIPE_APP_ID');
  if (appId && appId !== manifest.id) {
    problems.push({ where, problem: `STRIPE_APP_ID is ${appId}, the manifest's id is ${String(manifest.id)}: the backend refuses the Dashboard's redirect URI`, fix: `set STRIPE_APP_ID=${String(manifest.id)}` });
  }
  if (!config) return problems;
  const scope = trimmed(env, 'CONNECTION_SCOPE') ?? 'user';
  if (scope !== config.connectionScope) {
    problems.push({ where, problem: `CONNECTION_SCOPE is ${scope} in the backend, ${config.connectionScope} in the constants`, fix: 'set both to the same (user or account)' });
  }
  const clientId = trimmed(env, 'OAUTH_CLIENT_ID');
  if (clientId && clientId !== config.clientId) {
    problems.push({ where, problem: `OAUTH_CLIENT_ID is ${clientId}, constants.CLIENT_ID is ${config.clientId}: the provider refuses a code made for another client`, fix: 'use the same client id on both sides' });
  }
  // The proxy (`/api/proxy`, API_ACCESS proxy) sends the extension's calls to the first OAUTH_API_BASE_URL.
  if (config.apiAccess === 'proxy' && config.apiBase && config.profilePath) {
    const first = trimmed(env, 'OAUTH_API_BASE_URL')?.split(',')[0].trim();
    if (!first) {
      problems.push({ where, problem: "OAUTH_API_BASE_URL is not set: the extension's API calls through the backend fail (proxy_not_configured)", fix: `set OAUTH_API_BASE_URL=${config.apiBase}` });
    } else if (withoutSlash(first) !== config.apiBase) {
      // Shown without credentials, should the URL hold any (the backend refuses them anyway).
      const shown = URL.canParse(first) ? withoutSlash(`${new URL(first).origin}${new URL(first).pathname}`) : 'not a URL';
      problems.push({ where, problem: `OAUTH_API_BASE_URL starts with ${shown}, constants.API_BASE_URL is ${config.apiBase}: the proxy calls another API than the constants say`, fix: 'make them the same base URL' });
    }
  }
  return problems;
}
