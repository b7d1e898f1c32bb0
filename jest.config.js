// One jest run covers the UI views, the backend and the integration suites.
// The project is CommonJS; the ESM-only packages below (the UI extension SDK from 9.2.1 on,
// openid-client 6 and its dependencies) are transformed too (test/support/esbuild-transform.cjs).
const esmPackages = ['@stripe/ui-extension-sdk', 'openid-client', 'oauth4webapi', 'jose'];

module.exports = {
  // Node's, killing what a file's hooks left running after its own afterAll hooks (test/support/node-environment.cjs).
  testEnvironment: '<rootDir>/test/support/node-environment.cjs',
  testMatch: ['<rootDir>/test/**/*.test.ts?(x)'],
  transform: {
    '^.+\\.[tj]sx?$': '<rootDir>/test/support/esbuild-transform.cjs',
    '.+\\.(svg|css|png|jpg)$': 'jest-transform-stub',
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  testTimeout: 30000,
  // Services the run shares (PostgreSQL, the dev provider) and their end; leftovers of a test killed.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/cleanup.ts'],
};
