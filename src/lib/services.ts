/**
 * The providers the views show (docs/services.md). The manifest's `SERVICES` constant names them:
 * an object of provider name (the backend's OAUTH_PROVIDERS) → that provider's constants, each
 * over the top-level ones (BACKEND_URL, CONNECTION_SCOPE, … are shared). An API-key provider
 * (`KIND: "api_key"`) needs only a LABEL: its key is the account's, saved through the backend.
 * Without `SERVICES`, the top-level constants are the one unnamed provider, as ever.
 */
import { PROVIDER_NAME } from '../common/connection-id';
import { type AppConfig, type ConfigResult, isUrl, readAppConfig } from './app-config';

export interface KeyService {
  kind: 'api_key';
  name: string;
  label: string;
  backendUrl: string;
}

export type OAuthService = AppConfig & { kind: 'oauth' };
export type Service = OAuthService | KeyService;

export type ServicesResult = { ok: true; services: Service[] } | { ok: false; problems: string[] };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The configuration of the one unnamed provider (or why there is none usable); undefined when the manifest names providers. */
export function oneProvider(result: ServicesResult): ConfigResult | undefined {
  if (!result.ok) return result;
  const [only, ...others] = result.services;
  return others.length === 0 && only.kind === 'oauth' && !only.name ? { ok: true, config: only } : undefined;
}

export function readServices(constants: unknown): ServicesResult {
  const shared = isObject(constants) ? constants : {};
  if (shared.SERVICES === undefined) {
    const one = readAppConfig(shared);
    return one.ok ? { ok: true, services: [{ ...one.config, kind: 'oauth' }] } : one;
  }
  const entries = isObject(shared.SERVICES) ? Object.entries(shared.SERVICES) : [];
  if (entries.length === 0) return { ok: false, problems: ['SERVICES must be an object of provider name → its constants.'] };
  const problems: string[] = [];
  const services = entries.flatMap(([name, own]): Service[] => {
    if (!PROVIDER_NAME.test(name) || !isObject(own)) {
      problems.push(`SERVICES.${name.slice(0, 20)} must be a provider name of OAUTH_PROVIDERS (a-z, 0-9, -) with an object of its constants.`);
      return [];
    }
    const merged = { ...shared, ...own };
    if (merged.KIND === 'api_key') {
      const backendUrl = typeof merged.BACKEND_URL === 'string' && isUrl(merged.BACKEND_URL) ? merged.BACKEND_URL.replace(/\/+$/, '') : undefined;
      if (!backendUrl) problems.push(`SERVICES.${name}: BACKEND_URL must be an https URL (http only on localhost).`);
      if (typeof own.LABEL !== 'string' || !own.LABEL) problems.push(`SERVICES.${name}: LABEL is not set.`);
      return backendUrl && typeof own.LABEL === 'string' && own.LABEL ? [{ kind: 'api_key', name, label: own.LABEL, backendUrl }] : [];
    }
    const one = readAppConfig(merged);
    if (!one.ok) problems.push(...one.problems.map((p) => `SERVICES.${name}: ${p}`));
    return one.ok ? [{ ...one.config, ...(typeof own.LABEL === 'string' && own.LABEL && { label: own.LABEL }), name, kind: 'oauth' }] : [];
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, services };
}
