import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their sources, so `npm test` needs no build first.
const source = (dir: string): string => fileURLToPath(new URL(`./${dir}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@meshwave/contracts': source('libs/contracts'),
      '@meshwave/plan': source('libs/plan'),
      '@meshwave/mesh': source('libs/mesh'),
      '@meshwave/bus': source('libs/bus'),
      '@meshwave/store': source('libs/store'),
      '@meshwave/telemetry': source('libs/telemetry'),
      '@meshwave/reconcile': source('libs/reconcile'),
      '@meshwave/istio': source('libs/istio'),
      '@meshwave/planner': source('services/planner'),
      '@meshwave/cluster-agent': source('services/cluster-agent'),
      '@meshwave/vm-bridge': source('services/vm-bridge'),
      '@meshwave/vm-agent': source('services/vm-agent'),
      '@meshwave/cli': source('services/cli'),
    },
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'libs/*/src/**/*.test.ts',
            'services/*/src/**/*.test.ts',
            'services/*/web/**/*.test.js',
            'scripts/**/*.test.ts',
          ],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/env/smoke/**/*.test.ts', 'test/integration/**/*.test.ts'],
          // one group at a time: the e2e drills stop and restart the shared servers the integration tests use
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // the dashboard in Debian's chromium, driven by puppeteer-core (ADR 0037)
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          sequence: { groupOrder: 2 },
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
