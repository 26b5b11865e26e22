// The agent as a real process (services/cluster-agent/dist/main.js, built by `tsc -b` first), killed with
// SIGKILL mid-wave: a second process with another identity waits out the dead leader's lease, resumes from the
// ledger in Redis and from the restart annotations on the workloads, and restarts nothing twice. The Deployments
// are paused while the first process runs, so the wave is still in flight when it is killed, on any machine.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadTestEnv, suppressKafkaJsTimeoutNegativeWarning } from '../../support/env.ts';
import { newSigningFleet, secretsIn, type SigningFleet } from '../../support/signing-fleet.ts';
import { newChartIdentity, type ChartIdentity } from './chart-identity.ts';
import {
  NEW,
  OLD,
  ensureDefaultIstiods,
  eventually,
  newAdminClients,
  newNamespace,
  newWorkload,
  publishNamespaceWave,
  restartMarks,
  setPaused,
  uniqueName,
} from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const admin = newAdminClients(cluster.kubeconfig);
// the agent restarts nothing onto a revision whose istiod it does not see ready (ADR 0028)
beforeAll(() => ensureDefaultIstiods(admin));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const children: ChildProcess[] = [];
/** everything the agent processes wrote, scanned for secrets at the end */
let agentLog = '';
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(() => {
  // The child runs the built entrypoint; make sure it is current.
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'services/cluster-agent'], {
    cwd: root,
    stdio: 'pipe',
  });
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function startAgent(identity: ChartIdentity, keys: SigningFleet, clusterName: string, podName: string): ChildProcess {
  const child = spawn(process.execPath, [`${root}services/cluster-agent/dist/main.js`], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      MESHWAVE_CLUSTER: clusterName,
      MESHWAVE_KAFKA_BROKERS: env.kafka.brokers.join(','),
      MESHWAVE_REDIS_URL: env.redis.url,
      ...keys.envFor(clusterName),
      KUBECONFIG: identity.kubeconfig,
      MESHWAVE_METRICS_PORT: '0',
      MESHWAVE_HOST: '127.0.0.1',
      MESHWAVE_LEASE_NAMESPACE: identity.namespace,
      MESHWAVE_INSTANCE_ID: podName,
      MESHWAVE_LEASE_NAME: identity.fullname,
      LOG_LEVEL: 'info',
      OTEL_SDK_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (d: Buffer) => (agentLog += d.toString()));
  children.push(child);
  return child;
}

const restartedFor = async (ns: string): Promise<string | undefined> =>
  (await restartMarks(admin, ns, 'app0')).restartedFor;

describe('agent process killed mid-wave', () => {
  it('Given a wave restarting two of three namespaces, When the agent process is SIGKILLed and another starts, Then the wave completes and every Deployment was restarted exactly once', async () => {
    suppressKafkaJsTimeoutNegativeWarning();
    const id = randomUUID().slice(0, 6);
    const clusterName = `${cluster.name}-kill-${id}`;
    const identity = await newChartIdentity(cluster, admin, `meshwave-kill-${id}`);
    cleanups.push(() => identity.cleanup());
    // Ed25519 as every process on Kafka signs (ADR 0038, 0046): the agent trusts the planner's public key only
    const keys = newSigningFleet([clusterName]);
    cleanups.push(async () => keys.cleanup());
    const names: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ns = uniqueName(`kill${i}`);
      await newNamespace(admin, ns, { 'istio.io/rev': OLD });
      cleanups.push(() => admin.core.deleteNamespace({ name: ns }));
      await newWorkload(admin, { namespace: ns, kind: 'Deployment', name: 'app0', replicas: 2 });
      names.push(ns);
    }
    for (const ns of names)
      await eventually(
        `${ns} ready`,
        async () =>
          (await admin.apps.readNamespacedDeployment({ namespace: ns, name: 'app0' })).status?.availableReplicas === 2,
      );
    await setPaused(admin, names, 'app0', true);

    const first = startAgent(identity, keys, clusterName, 'agent-a');
    const planner = await publishNamespaceWave({
      brokers: env.kafka.brokers,
      signing: keys.signingFor('planner'),
      cluster: clusterName,
      rolloutId: `kill-${id}`,
      namespaces: names,
      maxUnavailable: 2,
    });
    cleanups.push(() => planner.close());

    // maxUnavailable 2 and nothing can finish while paused: exactly two restarts, and they stay in flight.
    await eventually(
      'two restarts issued',
      async () => (await Promise.all(names.map(restartedFor))).filter((r) => r === NEW).length === 2,
      90_000,
    );
    const before = new Map<string, string | undefined>();
    for (const ns of names)
      if ((await restartedFor(ns)) === NEW) before.set(ns, (await restartMarks(admin, ns, 'app0')).restartedAt);
    first.kill('SIGKILL');
    await new Promise<void>((r) =>
      first.exitCode !== null || first.signalCode !== null ? r() : first.once('exit', () => r()),
    );

    startAgent(identity, keys, clusterName, 'agent-b');
    await eventually(
      'agent-b holds the lease',
      async () =>
        (await admin.coordination.readNamespacedLease({ namespace: identity.namespace, name: identity.fullname })).spec
          ?.holderIdentity === 'agent-b',
      90_000,
    );
    await setPaused(admin, names, 'app0', false);
    await eventually(
      'every namespace on 1-25-2 with Ready pods',
      async () => {
        for (const ns of names) {
          const pods = (await admin.core.listNamespacedPod({ namespace: ns })).items.filter(
            (p) => !p.metadata?.deletionTimestamp,
          );
          const ok =
            pods.length === 2 &&
            pods.every(
              (p) =>
                p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
                p.metadata?.annotations?.['sidecar.istio.io/status']?.includes(`"revision":"${NEW}"`),
            );
          if (!ok) return false;
        }
        return true;
      },
      110_000,
    );
    const lease = await admin.coordination.readNamespacedLease({
      namespace: identity.namespace,
      name: identity.fullname,
    });
    expect(lease.spec?.holderIdentity).toBe('agent-b');
    for (const ns of names) {
      const d = await admin.apps.readNamespacedDeployment({ namespace: ns, name: 'app0' });
      // 1 at creation, +1 pause, +1 resume, +1 for the one restart: a second restart would make it 5
      expect(d.metadata?.generation).toBe(4);
      expect((await admin.apps.listNamespacedReplicaSet({ namespace: ns })).items).toHaveLength(2);
    }
    // the restarts written before the kill are the ones the pods run: none was written again
    for (const [ns, restartedAt] of before)
      expect((await restartMarks(admin, ns, 'app0')).restartedAt).toBe(restartedAt);

    // Then neither agent process logged a configured secret: its private signing key or its ServiceAccount token
    expect(agentLog).toMatch(/"level":"info"/); // the logs were read: a scan of nothing would prove nothing
    const kubeconfig = parse(fs.readFileSync(identity.kubeconfig, 'utf8')) as { users: { user: { token: string } }[] };
    const token = kubeconfig.users[0]!.user.token;
    const signingKey = keys.pairOf(clusterName).privateKey.privateKey;
    expect(secretsIn(agentLog, { 'signing key': signingKey, 'ServiceAccount token': token })).toEqual([]);
  });
});
