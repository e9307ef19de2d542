import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/**
 * Module boundaries are enforced from nx tags (package.json "nx.tags"):
 * services never import services; libs/contracts imports nothing of ours.
 */
export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.data/**', 'coverage/**', '**/bin/*.js', 'scripts/**', '**/bench/**/*.js', '**/bench/**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'scope:contracts', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'scope:contracts'] },
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib', 'scope:contracts'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'scope:contracts'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib', 'scope:contracts'] },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read process.env only in a config.ts (validated, frozen at boot).' },
      ],
    },
  },
  {
    files: ['**/config.ts', '**/*.spec.ts', '**/test/**/*.ts', 'libs/testing/**/*.ts', '**/bench/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Examples show what a subscriber outside the platform can do with the published contracts
    // alone: nothing of ours but @reach/contracts. (Not nx projects, so no tags; their tests may
    // use the platform's libs to set the scene.)
    files: ['examples/**/*.ts'],
    ignores: ['examples/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@reach/*', '!@reach/contracts'], message: 'Examples use nothing of ours but @reach/contracts.' },
            { group: ['**/libs/**', '**/services/**', '**/tools/**'], message: 'Examples use nothing of ours but @reach/contracts.' },
          ],
        },
      ],
    },
  },
  {
    // Migrations are frozen in time against an untyped Kysely, by design.
    files: ['libs/database/src/migrations/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
