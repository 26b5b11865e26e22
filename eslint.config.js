// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  {
    files: ['libs/contracts/src/api.ts'],
    rules: { 'max-lines': ['error', { max: 403, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['libs/plan/src/wave-planner.ts'],
    rules: { 'max-lines': ['error', { max: 636, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['services/cluster-agent/src/cluster-agent.ts'],
    rules: { 'max-lines': ['error', { max: 638, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['services/cluster-agent/src/converge-decisions.ts'],
    rules: { 'max-lines': ['error', { max: 547, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['services/cluster-agent/src/kubernetes-client.ts'],
    rules: { 'max-lines': ['error', { max: 541, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['services/cluster-agent/src/pin-command.ts'],
    rules: { 'max-lines': ['error', { max: 467, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['services/cluster-agent/src/simulated-cluster.ts'],
    rules: { 'max-lines': ['error', { max: 593, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['services/planner/src/engine/decide.ts'],
    rules: { 'max-lines': ['error', { max: 427, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['services/planner/src/engine/metric-gates.ts'],
    rules: { 'max-lines': ['error', { max: 405, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['services/planner/src/http/app.ts'],
    rules: { 'max-lines': ['error', { max: 465, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['services/planner/src/runtime/planner.ts'],
    rules: { 'max-lines': ['error', { max: 960, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['services/vm-bridge/src/vm-agent/vm-agent.ts'],
    rules: { 'max-lines': ['error', { max: 415, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['services/vm-bridge/src/vm-bridge.ts'],
    rules: { 'max-lines': ['error', { max: 813, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: [
      'libs/mesh/src/bisection.ts',
      'libs/plan/src/wave-planner.ts',
      'services/cli/src/demo/demo-command.ts',
      'services/cli/src/demo/embedded-fleet.ts',
      'services/cluster-agent/src/agent-process.ts',
      'services/cluster-agent/src/cluster-agent.ts',
      'services/cluster-agent/src/converge-decisions.ts',
      'services/cluster-agent/src/kubernetes-client.ts',
      'services/cluster-agent/src/pin-command.ts',
      'services/cluster-agent/src/simulated-cluster.ts',
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
