/**
 * `npm run check`: everything about the app that can be known before `stripe apps upload`, each
 * problem with its fix (docs/check.md). What cannot be known from here (which redirect URIs the
 * provider has registered) is printed as what to register, not checked.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { dashboardRedirectUri } from '../../src/common/redirect-uri';
import { appConfigOf, cspProblems, loopbackProblems, permissionProblems, placeholderProblems } from './app-rules';
import { agreementProblems, loadProblems, readEnvFile } from './backend-env';
import { type BundleSize, measureBundles } from './bundles';
import { iconProblems, ManifestUnreadable, readTarget, schemaProblems, viewProblems } from './manifest';
import type { Problem } from './problem';

export interface CheckOptions {
  root: string;
  /** stripe-app.local.json merged over stripe-app.json. */
  local: boolean;
  /** The backend's environment file; by default `.env` in `root` when there is one. */
  envFile?: string;
}

export interface CheckReport {
  problems: Problem[];
  /** What was read, for the OK line. */
  checked: string[];
  /** The redirect URIs to register at the provider, by mode. */
  redirectUris?: { test: string; live: string };
  bundles: BundleSize[];
}

export async function checkApp({ root, local, envFile }: CheckOptions): Promise<CheckReport> {
  let target;
  try {
    target = readTarget(root, local);
  } catch (err) {
    if (err instanceof ManifestUnreadable) return { problems: [err.detail], checked: [], bundles: [] };
    throw err;
  }
  const { config, problems: configProblems } = appConfigOf(target);
  const problems = [
    ...schemaProblems(target),
    ...iconProblems(target),
    ...viewProblems(target),
    ...configProblems,
    ...placeholderProblems(target),
    ...(config ? cspProblems(target, config) : []),
    ...loopbackProblems(target),
    ...permissionProblems(target),
  ];
  const checked = [target.manifestName];

  const envPath = envFile ? path.resolve(root, envFile) : path.join(root, '.env');
  if (envFile || existsSync(envPath)) {
    const envName = path.relative(root, envPath) || envPath;
    if (!existsSync(envPath)) {
      problems.push({ where: envName, problem: 'does not exist', fix: 'give --env the backend\'s environment file (copy .env.example)' });
    } else {
      const env = readEnvFile(envPath);
      problems.push(...loadProblems(env, envName), ...agreementProblems(env, envName, target, config));
      checked.push(envName);
    }
  }

  const bundles = await measureBundles(target);
  problems.push(...bundles.problems);
  const id = typeof target.manifest.id === 'string' ? target.manifest.id : undefined;
  return {
    problems,
    checked,
    redirectUris: id ? { test: dashboardRedirectUri(id, 'test'), live: dashboardRedirectUri(id, 'live') } : undefined,
    bundles: bundles.sizes,
  };
}
