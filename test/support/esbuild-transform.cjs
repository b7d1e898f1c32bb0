// Jest's transform: TypeScript, JSX and the ESM-only packages (jest.config.js) to CommonJS with
// esbuild, file by file (no type check: `npm run typecheck` does that), with source maps for stack traces.
'use strict';
const { transformSync } = require('esbuild');
const { createHash } = require('node:crypto');
const { version } = require('esbuild/package.json');

const LOADERS = { '.ts': 'ts', '.tsx': 'tsx', '.jsx': 'jsx', '.js': 'js', '.mjs': 'js', '.cjs': 'js' };

module.exports = {
  process(source, filename) {
    const extension = filename.slice(filename.lastIndexOf('.'));
    const { code, map } = transformSync(source, {
      loader: LOADERS[extension] ?? 'js',
      format: 'cjs',
      target: 'node20',
      jsx: 'automatic',
      sourcemap: 'external',
      sourcefile: filename,
    });
    return { code, map };
  },
  getCacheKey(source, filename) {
    return createHash('sha256').update(version).update('\0').update(filename).update('\0').update(source).digest('hex');
  },
};
