// One Jest run for the whole workspace. Specs import sibling libraries from their TypeScript
// sources (moduleNameMapper), so `jest` needs no build; the e2e tier spawns compiled services,
// which is why `npm test` runs `tsc -b` first.
const libs = ['contracts', 'event-store', 'bus', 'telemetry', 'platform', 'cli', 'testing', 'fix-kit', 'fix-io', 'domain'];
const moduleNameMapper = {};
for (const lib of libs) {
  moduleNameMapper[`^@antibody/${lib}$`] = `<rootDir>/libs/${lib}/src/index.ts`;
  moduleNameMapper[`^@antibody/${lib}/testing$`] = `<rootDir>/libs/${lib}/src/testing/index.ts`;
}
moduleNameMapper['^@antibody/bus/nest$'] = '<rootDir>/libs/bus/src/nest/index.ts';
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }] };
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform,
  moduleNameMapper,
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};
module.exports = {
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/**/*.spec.ts'], testPathIgnorePatterns: [...common.testPathIgnorePatterns, '\\.int\\.spec\\.ts$', '\\.e2e\\.spec\\.ts$'] },
    { ...common, displayName: 'int', testMatch: ['<rootDir>/**/*.int.spec.ts'], globalSetup: '<rootDir>/libs/testing/src/global-setup.ts', globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts' },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/**/*.e2e.spec.ts'], globalSetup: '<rootDir>/libs/testing/src/global-setup.ts', globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts' },
  ],
};
