/**
 * Every view in the manifest compiles to one browser bundle (what `stripe apps upload` has to
 * do too), with nothing left to load at run time and no Node-only code pulled in.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const views = (JSON.parse(readFileSync(path.join(ROOT, 'stripe-app.json'), 'utf8')) as { ui_extension: { views: Array<{ component: string }> } })
  .ui_extension.views.map((v) => v.component);

test.each(views)('%s bundles into a single ES module for the browser', async (component) => {
  const result = await build({
    entryPoints: [path.join(ROOT, 'src', 'views', `${component}.tsx`)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    jsx: 'automatic',
    minify: true,
    write: false,
    metafile: true,
    outdir: path.join(ROOT, '.build', 'views'),
    logLevel: 'silent',
  });
  expect(result.errors).toEqual([]);
  expect(result.outputFiles).toHaveLength(1);
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs).toContain(`src/views/${component}.tsx`);
  // The stripe SDK's web build (the extension's client talks through the Dashboard), not its Node build.
  expect(inputs.some((f) => /stripe\/esm\/platform\/WebPlatformFunctions/.test(f))).toBe(true);
  expect(inputs.filter((f) => /stripe\/\w+\/(stripe\.\w+\.node|platform\/NodePlatform)/.test(f))).toEqual([]);
  expect(inputs.filter((f) => f.startsWith('server/'))).toEqual([]);
  const code = result.outputFiles[0].text;
  expect(code).not.toMatch(/\brequire\(["']node:/);
  expect(code.length).toBeGreaterThan(10_000);
});
