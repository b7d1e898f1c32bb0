/**
 * The views bundled the way `stripe apps upload` bundles them: one IIFE per view in the
 * manifest, an ES2017 target, and React and `@remote-ui/*` left to the Dashboard's runtime.
 * Used by the bundle check, `npm run check` and `npm run build` (which writes to dist/views: .build/
 * belongs to the Stripe CLI).
 */
import { build, type BuildOptions } from 'esbuild';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export function manifestViews(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'stripe-app.json'), 'utf8')) as { ui_extension: { views: Array<{ component: string }> } };
  return [...new Set(manifest.ui_extension.views.map((v) => v.component))];
}

/** `root`: the app's folder (`npm run check` may check one elsewhere; this one's packages serve it). */
export const viewBuildOptions = (component: string, root = ROOT): BuildOptions => ({
  entryPoints: [path.join(root, 'src', 'views', `${component}.tsx`)],
  nodePaths: [path.join(ROOT, 'node_modules')],
  bundle: true,
  format: 'iife',
  target: 'es2017',
  platform: 'browser',
  jsx: 'automatic',
  external: ['react', 'react/jsx-runtime', 'react-dom', '@remote-ui/*'],
  minify: true,
  metafile: true,
  outfile: path.join(ROOT, 'dist', 'views', `${component}.js`),
  logLevel: 'silent',
});

if (require.main === module) {
  Promise.all(manifestViews().map((component) => build(viewBuildOptions(component)))).then(
    (results) => {
      for (const result of results) {
        for (const [file, output] of Object.entries(result.metafile!.outputs)) console.log(`${file}  ${(output.bytes / 1024).toFixed(1)} KB`);
      }
    },
    (err: Error) => {
      console.error(`error: ${err.message}`);
      process.exit(1);
    },
  );
}
