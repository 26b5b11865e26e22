// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Production files over 400 lines when the limit came in (ADR 0019), each held to its size: it may shrink, never
// grow; splitting one below 400 removes it from here, and nothing is ever added.
const OVER_FILE_LIMIT = {
  'libs/plan/src/wave-planner.ts': 636,
  'services/planner/src/engine/decide.ts': 427,
  'services/planner/src/engine/metric-gates.ts': 405,
  'services/planner/src/http/app.ts': 465,
  'services/planner/src/runtime/planner.ts': 960,
  'services/vm-bridge/src/vm-agent/vm-agent.ts': 415,
  'services/vm-bridge/src/vm-bridge.ts': 795,
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'test/env/**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: ['./tsconfig.tests.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@meshwave/*/*'], message: 'Import a workspace package through its public index only.' },
            {
              group: ['**/libs/*/src/**', '**/services/*/src/**', '../../libs/**', '../../services/**'],
              message: 'No deep imports across packages: use @meshwave/<package>.',
            },
          ],
        },
      ],
    },
  },
  // Size limits (ADR 0019): a production source file has at most 400 lines and a function at most 100. The files
  // below were over when the limits came in; each may not grow past its size then, and the list only shrinks as
  // issue 14's redesign splits them. Tests and the shared contract suites are exempt.
  {
    files: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/src/contract/**'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 100, skipBlankLines: false, skipComments: false }],
    },
  },
  ...Object.entries(OVER_FILE_LIMIT).map(([file, max]) => ({
    files: [file],
    rules: { 'max-lines': ['error', { max, skipBlankLines: false, skipComments: false }] },
  })),
  {
    files: [
      'libs/mesh/src/bisection.ts',
      'libs/plan/src/wave-planner.ts',
      'services/cli/src/demo/demo-command.ts',
      'services/cli/src/demo/embedded-fleet.ts',
      'services/planner/src/engine/decide.ts',
      'services/planner/src/engine/operator-actions.ts',
      'services/planner/src/http/app.ts',
      'services/planner/src/runtime/planner.ts',
      'services/vm-bridge/src/app.ts',
      'services/vm-bridge/src/batch-decision.ts',
    ],
    rules: { 'max-lines-per-function': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
);
