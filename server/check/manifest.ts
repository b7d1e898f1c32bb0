/**
 * The manifest as `stripe apps upload` reads it: Stripe's published schema (vendored here, see
 * SCHEMA.md), then what the schema cannot say: the icon is a 300×300 PNG (the schema's own
 * description of `icon`), each view's component exists in src/views, and the viewports this
 * app's OAuth flow needs are there.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CheckTarget, Manifest, Problem } from './problem';

const SCHEMA = path.join(__dirname, 'stripe-app.schema.json');
const BASE = 'stripe-app.json';
const LOCAL = 'stripe-app.local.json';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const ICON_PIXELS = 300;

function readJson(root: string, name: string): Manifest {
  const file = path.join(root, name);
  if (!existsSync(file)) throw new ManifestUnreadable({ where: name, problem: 'is missing', fix: `run the check in the app's folder (the one with ${BASE})` });
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch (err) {
    throw new ManifestUnreadable({ where: name, problem: `is not JSON (${(err as Error).message})`, fix: 'fix its syntax' });
  }
}

export class ManifestUnreadable extends Error {
  constructor(readonly detail: Problem) {
    super(`${detail.where} ${detail.problem}`);
  }
}

/**
 * stripe-app.json, or with `local` stripe-app.local.json over it the way `stripe apps start
 * --manifest stripe-app.local.json` takes it: the local file's keys replace the base's, its
 * constants are added to the base's. Throws ManifestUnreadable.
 */
export function readTarget(root: string, local: boolean): CheckTarget {
  const base = readJson(root, BASE);
  if (!local) return { root, manifestName: BASE, manifest: base, local };
  const { extends: _extends, ...over } = readJson(root, LOCAL);
  const manifest = { ...base, ...over, constants: { ...base.constants, ...over.constants } };
  return { root, manifestName: `${BASE} + ${LOCAL}`, manifest, local };
}

function validator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addKeyword('markdownDescription');
  return ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
}

export function schemaProblems({ manifest, manifestName }: CheckTarget): Problem[] {
  // The CLI adds `"extensions": null`, which the published schema does not know yet.
  const { extensions, ...rest } = manifest;
  const validate = validator();
  if (validate(extensions === null ? rest : manifest)) return [];
  return (validate.errors ?? []).map((error) => {
    const at = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : 'the manifest';
    const allowed = error.params && 'allowedValues' in error.params ? `: ${(error.params.allowedValues as string[]).join(', ')}` : '';
    return {
      where: manifestName,
      problem: `${at} ${error.message}${allowed}`,
      fix: "follow Stripe's manifest reference (https://docs.stripe.com/stripe-apps/reference/app-manifest)",
    };
  });
}

export function iconProblems({ root, manifest, manifestName }: CheckTarget): Problem[] {
  if (typeof manifest.icon !== 'string' || manifest.icon === '') return [];
  const file = path.join(root, manifest.icon);
  const problem = (text: string): Problem[] => [{ where: manifestName, problem: `icon ${manifest.icon} ${text}`, fix: `give icon a ${ICON_PIXELS}×${ICON_PIXELS} PNG file in the app's folder` }];
  if (!existsSync(file)) return problem('does not exist');
  const png = readFileSync(file);
  if (png.length < 24 || !png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('ascii', 12, 16) !== 'IHDR') return problem('is not a PNG image');
  const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  if (width !== ICON_PIXELS || height !== ICON_PIXELS) return problem(`is ${width}×${height} pixels`);
  return [];
}

/** Where a view's component lives: the build (server/local/view-bundle.ts) takes src/views/<component>.tsx. */
export const viewFile = (root: string, component: string) => path.join(root, 'src', 'views', `${component}.tsx`);

/**
 * Views that exist, the drawer (the provider sends the user back to it), and a settings view when
 * the post-install action opens settings.
 */
export function viewProblems({ root, manifest, manifestName }: CheckTarget): Problem[] {
  const views = manifest.ui_extension?.views ?? [];
  const problems: Problem[] = [];
  for (const { viewport, component } of views) {
    if (typeof component !== 'string' || existsSync(viewFile(root, component))) continue;
    problems.push({ where: manifestName, problem: `the ${viewport} view's component ${component} has no file src/views/${component}.tsx`, fix: 'create it (a default-exported component) or name an existing one' });
  }
  const needed = [['stripe.dashboard.drawer.default', 'the provider sends the user back to the drawer']];
  if (manifest.post_install_action?.type === 'settings') needed.push(['settings', 'post_install_action opens settings']);
  const viewports = new Set(views.map((v) => v.viewport));
  for (const [viewport, why] of needed) {
    if (!viewports.has(viewport)) problems.push({ where: manifestName, problem: `no view for the ${viewport} viewport (${why})`, fix: `add { "viewport": "${viewport}", "component": ... } to ui_extension.views` });
  }
  return problems;
}
