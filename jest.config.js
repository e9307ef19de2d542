// Tests are tiered by file suffix (README.md, "Tests"): unit (pure), int (real Postgres and NATS),
// e2e (the started platform over HTTP). `npm test` runs all three.
const swc = ['@swc/jest', {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
}];

const shared = {
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^@reach/([^/]+)$': '<rootDir>/libs/$1/src' },
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};

module.exports = {
  // Per-project testTimeout is ignored by jest; the e2e and int tiers need the longer one.
  testTimeout: 60000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{libs,services,tools,examples}/**/*.unit.spec.ts', '<rootDir>/test/{deploy,docs}/**/*.unit.spec.ts'] },
    {
      ...shared,
      displayName: 'int',
      testMatch: ['<rootDir>/{libs,services,tools,examples}/**/*.int.spec.ts', '<rootDir>/test/{deploy,docs}/**/*.int.spec.ts'],
      testTimeout: 30000,
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e.spec.ts'],
      globalSetup: '<rootDir>/test/e2e/global-setup.ts',
      globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
      testTimeout: 60000,
    },
  ],
};
