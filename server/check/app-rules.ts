/**
 * What the manifest must say for this app's code to work in the Dashboard: constants the
 * extension can run with (src/lib/app-config.ts) and not the template's placeholders, a
 * content security policy that lets the extension reach what it calls, and the permissions the
 * code uses.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isLoopbackUrl } from '../../src/common/loopback';
import { type AppConfig, readAppConfig } from '../../src/lib/app-config';
import type { CheckTarget, Problem } from './problem';

/** The extension's configuration, or the problems that keep it from running. */
export function appConfigOf({ manifest, manifestName }: CheckTarget): { config?: AppConfig; problems: Problem[] } {
  const result = readAppConfig(manifest.constants);
  if (result.ok) return { config: result.config, problems: [] };
  return { problems: result.problems.map((problem) => ({ where: manifestName, problem: `constants: ${problem}`, fix: 'set it in constants (the names: src/lib/app-config.ts)' })) };
}

/** The template's own values: RFC 2606 example domains and `replace-with-…`. */
const isPlaceholder = (value: string) =>
  value.startsWith('replace-with-') || (URL.canParse(value) && /(^|\.)example(\.(com|net|org))?$/.test(new URL(value).hostname));

const WHAT_TO_SET: Record<string, string> = {
  CLIENT_ID: "your client id at the provider",
  BACKEND_URL: 'the https origin your backend is deployed at',
};

export function placeholderProblems({ manifest, manifestName }: CheckTarget): Problem[] {
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(manifest.constants ?? {})) {
    if (typeof value !== 'string' || !isPlaceholder(value)) continue;
    problems.push({ where: manifestName, problem: `constants.${name} is not configured (still the template's ${value})`, fix: `set it to ${WHAT_TO_SET[name] ?? "your provider's"}` });
  }
  for (const entry of manifest.ui_extension?.content_security_policy?.['connect-src'] ?? []) {
    if (isPlaceholder(entry)) problems.push({ where: manifestName, problem: `connect-src entry ${entry} is not configured (the template's)`, fix: "replace it with your backend's BACKEND_URL + /api/" });
  }
  return problems;
}

/** Whether a `connect-src` entry allows a URL: one ending in a slash allows everything under it, else only itself. */
const allows = (entry: string, url: string) => (entry.endsWith('/') ? url.startsWith(entry) : url === entry);

/** Every URL the extension calls is allowed: the backend's API, and the provider where the extension calls it directly. */
export function cspProblems({ manifest, manifestName }: CheckTarget, config: AppConfig): Problem[] {
  const connectSrc = manifest.ui_extension?.content_security_policy?.['connect-src'] ?? [];
  const called: Array<{ url: string; what: string; entry: string }> = [{ url: `${config.backendUrl}/api/token`, what: "the backend's API", entry: `${config.backendUrl}/api/` }];
  if (config.apiAccess === 'direct' && config.apiBase) {
    called.push({ url: `${config.apiBase}${config.profilePath ?? '/'}`, what: "the provider's API (API_ACCESS direct)", entry: `${config.apiBase}/` });
  }
  if (config.exchangeMode === 'extension' && config.tokenUrl) {
    called.push({ url: config.tokenUrl, what: "the provider's token URL (EXCHANGE_MODE extension)", entry: config.tokenUrl });
  }
  return called
    .filter(({ url }) => !connectSrc.some((entry) => allows(entry, url)))
    .map(({ what, entry }) => ({ where: manifestName, problem: `content_security_policy.connect-src does not allow ${what}`, fix: `add "${entry}" to ui_extension.content_security_policy.connect-src` }));
}

/** In the manifest that is uploaded, loopback URLs reach nothing: they belong in stripe-app.local.json. */
export function loopbackProblems({ manifest, manifestName, local }: CheckTarget): Problem[] {
  if (local) return [];
  return Object.entries(manifest.constants ?? {})
    .filter(([, value]) => typeof value === 'string' && URL.canParse(value) && isLoopbackUrl(new URL(value)))
    .map(([name, value]) => ({ where: manifestName, problem: `constants.${name} is a loopback URL (${value}): the Dashboard cannot reach it`, fix: 'keep local URLs in stripe-app.local.json; give the deployed https URL here' }));
}

/** What in the code needs which permission: a pattern in the files under a folder. */
const PERMISSION_USES = [
  { permission: 'secret_write', under: 'src', pattern: /\/v1\/apps\/secrets/, why: 'the views keep tokens in the Secret Store (/v1/apps/secrets)' },
  { permission: 'event_read', under: path.join('server', 'http'), pattern: /account\.application\.deauthorized/, why: 'the backend handles the uninstall event (account.application.deauthorized)' },
];

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(file);
    return /\.[jt]sx?$/.test(entry.name) ? [readFileSync(file, 'utf8')] : [];
  });
}

export function permissionProblems({ root, manifest, manifestName }: CheckTarget): Problem[] {
  const declared = new Set((manifest.permissions ?? []).map((p) => p.permission));
  const needed = new Map<string, string>();
  for (const { permission, under, pattern, why } of PERMISSION_USES) {
    if (sources(path.join(root, under)).some((code) => pattern.test(code))) needed.set(permission, why);
  }
  for (const code of sources(path.join(root, 'src'))) {
    for (const [, permission] of code.matchAll(/isPermissionAuthorized\('([a-z_]+)'\)/g)) needed.set(permission, `the views check isPermissionAuthorized('${permission}')`);
  }
  return [...needed]
    .filter(([permission]) => !declared.has(permission))
    .map(([permission, why]) => ({ where: manifestName, problem: `permission ${permission} is not declared, but ${why}`, fix: `run: stripe apps grant permission ${permission} "<why your app needs it>"` }));
}
