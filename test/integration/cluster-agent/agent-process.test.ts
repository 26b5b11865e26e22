// Two agent replicas as the Helm chart runs them (the chart's RBAC identity, leader election on a Lease in the
// release namespace, webhook and /metrics on each), with real Kafka and Redis.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig, startAgentProcess, type AgentProcess } from '@meshwave/cluster-agent';
import { silentLogger } from '@meshwave/telemetry';
import { loadTestEnv, suppressKafkaJsTimeoutNegativeWarning } from '../../support/env.ts';
import { newChartIdentity } from './chart-identity.ts';
import {
  NEW,
  ensureDefaultIstiods,
  eventually,
  newAdminClients,
  newNamespaceOnOld,
  publishNamespaceWave,
} from './fixtures.ts';
import { newServingCert } from '../../support/certificates.ts';
import { newSigningFleet } from '../../support/signing-fleet.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const admin = newAdminClients(cluster.kubeconfig);
// the agent restarts nothing onto a revision whose istiod it does not see ready (ADR 0028)
beforeAll(() => ensureDefaultIstiods(admin));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe('agent process with leader election', () => {
  it('Given two replicas with the chart identity, Then one leads and converges, both serve metrics, and the other takes over when the leader stops', async () => {
    suppressKafkaJsTimeoutNegativeWarning();
    const id = randomUUID().slice(0, 6);
    const clusterName = `${cluster.name}-${id}`; // a fresh ledger in the shared Redis
    const identity = await newChartIdentity(cluster, admin, `meshwave-proc-${id}`);
    cleanups.push(() => identity.cleanup());
    // Ed25519 as every process on Kafka signs (ADR 0038, 0046): the agents trust the planner's public key only
    const keys = newSigningFleet([clusterName]);
    cleanups.push(async () => keys.cleanup());
    const cert = newServingCert();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-proc-'));
    fs.writeFileSync(path.join(dir, 'tls.crt'), cert.cert);
    fs.writeFileSync(path.join(dir, 'tls.key'), cert.key);
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const fatal: string[] = [];
    const start = async (replica: string): Promise<AgentProcess> => {
      const config = parseAgentConfig([], {
        MESHWAVE_CLUSTER: clusterName,
        MESHWAVE_KAFKA_BROKERS: env.kafka.brokers.join(','),
        MESHWAVE_REDIS_URL: env.redis.url,
        ...keys.envFor(clusterName),
        KUBECONFIG: identity.kubeconfig,
        MESHWAVE_WEBHOOK_PORT: '0',
        MESHWAVE_WEBHOOK_CERT: path.join(dir, 'tls.crt'),
        MESHWAVE_WEBHOOK_KEY: path.join(dir, 'tls.key'),
        MESHWAVE_METRICS_PORT: '0',
        MESHWAVE_HOST: '127.0.0.1',
        MESHWAVE_LEASE_NAMESPACE: identity.namespace,
        MESHWAVE_INSTANCE_ID: replica,
        MESHWAVE_LEASE_NAME: identity.fullname,
      });
      const p = await startAgentProcess(config, {
        logger: silentLogger(),
        onFatal: (reason) => fatal.push(`${replica}: ${reason}`),
      });
      cleanups.push(() => p.stop());
      return p;
    };
    const a = await start('replica-a');
    const b = await start('replica-b');
    await eventually('one leader', async () => a.isLeader() !== b.isLeader(), 60_000);
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
    const lease = await admin.coordination.readNamespacedLease({
      namespace: identity.namespace,
      name: identity.fullname,
    });
    expect(lease.spec?.holderIdentity).toBe(a.isLeader() ? 'replica-a' : 'replica-b');

    for (const p of [leader, standby]) {
      const metrics = await fetch(`http://127.0.0.1:${p.metricsPort}/metrics`).then((r) => r.text());
      expect(metrics).toContain(`meshwave_agent_units{state="pending",cluster="${clusterName}"}`);
    }

    // The leader converges a namespace the planner moves.
    const ns = await newNamespaceOnOld(admin, 'proc');
    cleanups.push(() => admin.core.deleteNamespace({ name: ns }));
    const planner = await publishNamespaceWave({
      brokers: env.kafka.brokers,
      signing: keys.signingFor('planner'),
      cluster: clusterName,
      rolloutId: `proc-${id}`,
      namespaces: [ns],
      maxUnavailable: 1,
    });
    cleanups.push(() => planner.close());
    await eventually(
      'namespace relabelled by the leader',
      async () => (await admin.core.readNamespace({ name: ns })).metadata?.labels?.['istio.io/rev'] === NEW,
      90_000,
    );

    // When the leader stops (releasing its lease), Then the standby takes over.
    await leader.stop();
    const standbyName = standby === a ? 'replica-a' : 'replica-b';
    await eventually(
      'the standby leads, as the Lease on the apiserver says',
      async () =>
        standby.isLeader() &&
        (await admin.coordination.readNamespacedLease({ namespace: identity.namespace, name: identity.fullname })).spec
          ?.holderIdentity === standbyName,
      60_000,
    );
    expect(fatal).toEqual([]);
  });
});
