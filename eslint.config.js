// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'bundles/**'] },
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
  // Size limits (ADR 0019, 0020): a production source file (and a test tool) has at most 400 lines and a function at
  // most 100, with no exceptions: the files that were over when the limits came in have been split. Tests and the
  // shared contract suites are exempt.
  {
    files: [
      'libs/*/src/**/*.ts',
      'services/*/src/**/*.ts',
      'test/env/**/*.ts',
      'test/support/**/*.ts',
      'test/run-tests.ts',
      'scripts/**/*.ts',
    ],
    ignores: ['**/*.test.ts', '**/src/contract/**'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 100, skipBlankLines: false, skipComments: false }],
    },
  },
  // The dashboard's modules run in the browser as they are (ADR 0037): browser globals, and the same size limits.
  {
    files: ['services/*/web/**/*.js'],
    languageOptions: {
      globals: {
        document: 'readonly',
        location: 'readonly',
        history: 'readonly',
        sessionStorage: 'readonly',
        fetch: 'readonly',
        EventSource: 'readonly',
        URLSearchParams: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 100, skipBlankLines: false, skipComments: false }],
    },
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
