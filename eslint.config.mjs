// ESLint for the whole workspace: `npm run lint` (or `npx eslint .`) from the root.
// typescript-eslint's recommended rules (syntax only, no type information, so it stays fast) and
// Nx module boundaries: each project's tags (project.json) say which projects it may import.
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import { createProjectGraphAsync } from '@nx/devkit';

// @nx/enforce-module-boundaries only reads Nx's cached project graph and silently skips itself when
// there is none, so compute (and cache) a fresh graph first: `npx eslint .` then works on its own,
// without `nx lint`. Without the daemon (nx.json: useDaemonProcess false) this takes about a second.
await createProjectGraphAsync({ exitOnError: false });

const SERVICES = ['ingest', 'analyzer', 'patcher', 'validator', 'deployer', 'console'];

/**
 * Who may import whom. A project must satisfy the constraint of every tag it carries:
 * `type:*` says what kind of code it may build on, `scope:*` keeps services out of each other's code
 * (a service reads other services' contracts, never their code).
 */
function depConstraints({ testing }) {
  const withTesting = (tags) => (testing ? [...tags, 'type:testing'] : tags);
  return [
    { sourceTag: 'type:app', onlyDependOnLibsWithTags: withTesting(['type:contracts', 'type:platform', 'type:domain']) },
    { sourceTag: 'type:domain', onlyDependOnLibsWithTags: withTesting(['type:contracts', 'type:domain']) },
    // Pure domain code may be used by any layer; it depends on nothing but contracts.
    { sourceTag: 'type:platform', onlyDependOnLibsWithTags: withTesting(['type:contracts', 'type:domain', 'type:platform']) },
    { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
    { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:platform', 'type:testing'] },
    { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
    ...SERVICES.map((service) => ({ sourceTag: `scope:${service}`, onlyDependOnLibsWithTags: ['scope:shared', `scope:${service}`] })),
  ];
}

const boundaries = (options) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow: [],
    // Specs in a project's test/ folder import the project by its package name, as its users do.
    allowCircularSelfDependency: options.testing,
    depConstraints: depConstraints(options),
  },
];

const TEST_FILES = ['**/*.spec.ts', '**/test/**/*.ts'];

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', 'bench/results/**', '.nx/**', '**/*.js', '**/*.cjs', '**/*.d.ts'],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@nx/enforce-module-boundaries': boundaries({ testing: false }),
    },
  },
  {
    // Specs and test folders may also use the test helpers (type:testing) and their own project's public entry.
    files: TEST_FILES,
    rules: { '@nx/enforce-module-boundaries': boundaries({ testing: true }) },
  },
  {
    files: ['eslint.config.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
);
