/**
 * The views bundled as `stripe apps upload` bundles them (server/local/view-bundle.ts), measured.
 * Stripe documents no size limit for a view's bundle, so the sizes are shown, not judged; a view
 * that does not build is a problem.
 */
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { viewBuildOptions } from '../local/view-bundle';
import { viewFile } from './manifest';
import type { CheckTarget, Problem } from './problem';

export interface BundleSize {
  component: string;
  bytes: number;
  gzipped: number;
}

export async function measureBundles({ root, manifest, manifestName }: CheckTarget): Promise<{ sizes: BundleSize[]; problems: Problem[] }> {
  // A missing view is the view check's problem.
  const components = [...new Set((manifest.ui_extension?.views ?? []).map((v) => v.component))].filter((c) => existsSync(viewFile(root, c)));
  const sizes: BundleSize[] = [];
  const problems: Problem[] = [];
  for (const component of components) {
    try {
      const result = await build({ ...viewBuildOptions(component, root), write: false });
      const code = result.outputFiles![0].contents;
      sizes.push({ component, bytes: code.length, gzipped: gzipSync(code).length });
    } catch (err) {
      const first = (err as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors?.[0];
      const at = first?.location ? ` at ${path.relative(root, path.resolve(first.location.file))}:${first.location.line}` : '';
      problems.push({ where: manifestName, problem: `the view ${component} does not build${at}: ${first?.text ?? (err as Error).message}`, fix: 'fix the error (npm run build shows it too)' });
    }
  }
  return { sizes, problems };
}
