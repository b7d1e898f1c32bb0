import uiExtensionConfig from '@stripe/ui-extension-tools/eslint.config.ui-extension.mjs';
import globals from 'globals';

export default [
  { ignores: ['node_modules/', '.build/', '.data/', 'dist/', 'coverage/', 'jest.config.js'] },
  ...uiExtensionConfig,
  // The React the SDK pins (package.json): named, so eslint-plugin-react does not have to guess it.
  { settings: { react: { version: '18.3.1' } } },
  // The offline console's host page renders the SDK components with DOM elements.
  { files: ['server/local/console/browser/**'], rules: { 'no-restricted-syntax': 'off' } },
  // The production launcher (and the tests' clock preload) are plain CommonJS for Node, so that they run without a compiler.
  {
    files: ['server/**/*.js', 'test/**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
];
