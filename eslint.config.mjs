import uiExtensionConfig from '@stripe/ui-extension-tools/eslint.config.ui-extension.mjs';

export default [
  { ignores: ['node_modules/', '.build/', '.data/', 'dist/', 'coverage/', 'jest.config.js'] },
  ...uiExtensionConfig,
];
