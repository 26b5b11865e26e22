// The injector double serves Istio's `gateway` template through a real kube-apiserver: the test runs its own copy of
// the double (this checkout's test/env/injector/server.ts, on a port and certificate of its own) and registers a
// revision of its own pointing at it, so the shared injector is neither restarted nor changed. Given/When/Then on
// the pods the apiserver stores.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRevision, unregisterRevision } from '../../env/injector/registration.ts';
import { injectorHealthy } from '../../env/lib/injector-process.ts';
import { newServingCert } from '../../support/certificates.ts';
import { loadTestEnv } from '../../support/env.ts';
import { freePort } from '../../support/ports.ts';
import { eventually, newAdminClients, newPodTemplate } from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const admin = newAdminClients(cluster.kubeconfig);
const root = fileURLToPath(new URL('../../../', import.meta.url));
/** a revision only this test registers, injecting proxy 1.25.2 */
const REVISION = `gwtpl-${randomUUID().slice(0, 6)}`;
const NS = `gwtpl-${randomUUID().slice(0, 8)}`;

let server: ChildProcess | undefined;
let dir: string | undefined;

beforeAll(async () => {
  const cert = newServingCert();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-gwtpl-'));
  fs.writeFileSync(path.join(dir, 'server.crt'), cert.cert);
  fs.writeFileSync(path.join(dir, 'server.key'), cert.key);
  const port = await freePort();
  server = spawn(
    `${root}node_modules/.bin/node`,
    [
      `${root}test/env/injector/server.ts`,
      '--port',
      String(port),
      '--cert',
      path.join(dir, 'server.crt'),
      '--key',
      path.join(dir, 'server.key'),
    ],
    { stdio: 'ignore' },
  );
  const injector = { url: `https://127.0.0.1:${port}`, caBundle: cert.caBundle };
  await eventually('the test injector serving', () => injectorHealthy(injector));
  await registerRevision(cluster, injector, { revision: REVISION, version: '1.25.2' });
  await admin.core.createNamespace({ body: { metadata: { name: NS, labels: { 'istio.io/rev': REVISION } } } });
}, 120_000);

afterAll(async () => {
  await admin.core.deleteNamespace({ name: NS }).catch(() => undefined);
  await unregisterRevision(cluster, REVISION);
  server?.kill('SIGTERM');
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

/** The pods of Deployment `app` once `count` exist, as the apiserver stores them. */
async function podsOf(app: string, count: number) {
  return eventually(`${count} pods of ${app}`, async () => {
    const pods = await admin.core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` });
    return pods.items.length === count ? pods.items : undefined;
  });
}

describe("the injector double serves Istio's gateway template through the apiserver", () => {
  it("Given a Deployment as Istio's gateway chart makes it (labelled for injection, annotated `inject.istio.io/templates: gateway`, its proxy container `image: auto`), When its pods are created in a namespace of the revision, Then each runs istio-proxy of the revision's version as its only container, `proxy router`, with no init container, and says so in its status annotation", async () => {
    const template = newPodTemplate('ingress', { istio: 'ingressgateway', 'sidecar.istio.io/inject': 'true' });
    await admin.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'ingress' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'ingress' } },
          template: {
            metadata: { ...template.metadata, annotations: { 'inject.istio.io/templates': 'gateway' } },
            spec: { ...template.spec!, containers: [{ name: 'istio-proxy', image: 'auto' }] },
          },
        },
      },
    });
    const pods = await podsOf('ingress', 2);
    for (const p of pods) {
      expect(p.spec?.initContainers ?? []).toEqual([]);
      expect(p.spec?.containers.map((c) => [c.name, c.image])).toEqual([
        ['istio-proxy', 'docker.io/istio/proxyv2:1.25.2'],
      ]);
      expect(p.spec?.containers[0]?.args?.slice(0, 2)).toEqual(['proxy', 'router']);
      const status = JSON.parse(p.metadata?.annotations?.['sidecar.istio.io/status'] ?? '{}') as Record<
        string,
        unknown
      >;
      expect(status).toMatchObject({ initContainers: null, containers: ['istio-proxy'], revision: REVISION });
      expect(p.metadata?.labels?.['istio.io/rev']).toBe(REVISION);
    }
  });

  it('Given a workload without the annotation in the same namespace, When its pod is created, Then it still gets the sidecar template (istio-init beside the app and istio-proxy)', async () => {
    await admin.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'web' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: newPodTemplate('web') },
      },
    });
    const [pod] = await podsOf('web', 1);
    expect(pod!.spec?.initContainers?.map((c) => c.name)).toEqual(['istio-init']);
    expect(pod!.spec?.containers.map((c) => c.name)).toEqual(['app', 'istio-proxy']);
  });
});
