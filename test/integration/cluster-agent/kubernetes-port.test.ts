// Given a real kube-apiserver (with kwok and the Istio injector double) from the test environment,
// When the KubernetesPort scenario suite runs against the real client,
// Then it behaves as the simulated cluster does (the same scenarios run in the unit tests).
import { afterAll, describe, it } from 'vitest';
import { kubernetesPortScenarios } from '@meshwave/cluster-agent';
import { loadTestEnv } from '../../support/env.ts';
import { newRealFixture } from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;

describe('real apiserver: the KubernetesPort scenario suite', () => {
  const fixtures: ReturnType<typeof newRealFixture>[] = [];
  afterAll(async () => {
    await Promise.all(fixtures.map((f) => f.cleanup()));
  });
  for (const scenario of kubernetesPortScenarios) {
    it(`Given ${cluster.name}, ${scenario.name}`, async () => {
      const f = newRealFixture(cluster);
      fixtures.push(f);
      await scenario.run(f);
    });
  }
});
