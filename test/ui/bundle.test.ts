/**
 * Every view in the manifest builds the way `stripe apps upload` builds it (server/local/
 * view-bundle.ts: an IIFE, ES2017, React and @remote-ui external), with no build error, no
 * `stripe` package and no server code inside.
 */
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { manifestViews, viewBuildOptions } from '../../server/local/view-bundle';

test.each(manifestViews())('%s bundles as the Stripe CLI does, without the stripe package or server code', async (component) => {
  const result = await build({ ...viewBuildOptions(component), write: false });
  expect(result.errors).toEqual([]);
  expect(result.warnings).toEqual([]);
  expect(result.outputFiles).toHaveLength(1);
  const inputs = Object.keys(result.metafile!.inputs);
  expect(inputs).toContain(`src/views/${component}.tsx`);
  expect(inputs.filter((f) => f.startsWith('node_modules/stripe/') || f.startsWith('server/'))).toEqual([]);
  expect(inputs.filter((f) => /node_modules\/(react|@remote-ui)\//.test(f))).toEqual([]);
  const code = result.outputFiles![0].text;
  // React comes from the Dashboard's runtime; nothing of Node's is asked for.
  expect(/\("react\/jsx-runtime"\)/.test(code)).toBe(true);
  expect(/\("node:/.test(code)).toBe(false);
  // Small enough to read in review; the README gives the size.
  expect(gzipSync(code).length).toBeLessThan(60_000);
});
