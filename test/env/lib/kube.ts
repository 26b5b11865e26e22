// Kubernetes "clusters" without Docker: per cluster etcd + kube-apiserver (TLS, RBAC, service-account keys,
// admin client certificate; flags as controller-runtime's envtest uses them) + kube-controller-manager +
// kube-scheduler + kwok (fake nodes and pod lifecycle). Binaries: kube-binaries.ts; processes: kube-processes.ts.
import fs from 'node:fs';
import path from 'node:path';
import {
  clusterPortsSchema,
  type ClusterPorts,
  type ClusterState,
  type InjectorState,
} from '../../support/env-state.ts';
import { freePorts, portsFree } from '../../support/ports.ts';
import { log, pidAlive, stateDir, stopPid } from './common.ts';
import { apiReady, nodesReady } from './kube-api.ts';
import type { KubeBinaries } from './kube-binaries.ts';
import { ensureClusterCerts, kubeconfigYaml } from './kube-credentials.ts';
import { FAKE_NODES, procAlive, startClusterProcesses } from './kube-processes.ts';

export interface ClusterStatus {
  readonly name: string;
  readonly healthy: boolean;
  readonly server: string;
  readonly processes: Record<string, boolean>;
  readonly apiserver: boolean;
  readonly nodesReady: boolean;
}

export async function clusterStatus(c: ClusterState): Promise<ClusterStatus> {
  const processes = Object.fromEntries(Object.entries(c.pids).map(([k, pid]) => [k, pidAlive(pid)]));
  let apiserver = false;
  let nodes = false;
  if (processes['apiserver']) {
    apiserver = await apiReady(c).catch(() => false);
    nodes = apiserver && (await nodesReady(c, c.nodes).catch(() => false));
  }
  return {
    name: c.name,
    healthy: procAlive(c) && apiserver && nodes,
    server: c.server,
    processes,
    apiserver,
    nodesReady: nodes,
  };
}

const PORTS = ['etcd', 'etcdPeer', 'apiserver', 'controllerManager', 'scheduler', 'kwok'] as const;

/** The previous ports while all are free; otherwise fresh ones, and the old etcd data goes with the old address. */
async function clusterPorts(dir: string, prev: ClusterPorts | undefined): Promise<ClusterPorts> {
  if (prev && (await portsFree(PORTS.map((k) => prev[k])))) return prev;
  const p = await freePorts(PORTS.length);
  // A new address is a new cluster: objects left by earlier runs (webhooks pointing at dead ports with
  // failurePolicy Fail, above all) must not leak in. Same ports (restart drills) keep the data.
  fs.rmSync(path.join(dir, 'etcd'), { recursive: true, force: true });
  return clusterPortsSchema.parse(Object.fromEntries(PORTS.map((k, i) => [k, p[i]])));
}

/**
 * Starts (or reuses, when all its processes run and it answers) the cluster `name`. Its etcd data and
 * certificates stay in the state directory, so a restart keeps the objects.
 */
export async function upCluster(
  name: string,
  prev: ClusterState | undefined,
  bins: KubeBinaries,
  injector: InjectorState | undefined,
): Promise<ClusterState> {
  if (prev && procAlive(prev) && (await clusterStatus(prev)).healthy) {
    log(`${name}: reusing ${prev.server}`);
    return prev;
  }
  if (prev) await downCluster(prev); // half-alive: restart all of it
  const t0 = Date.now();
  const dir = path.join(stateDir(), 'clusters', name);
  const certDir = path.join(dir, 'certs');
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  ensureClusterCerts(certDir);
  const ports = await clusterPorts(dir, prev?.ports);
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const caFile = path.join(certDir, 'ca.crt');
  const kubeconfig = path.join(dir, 'kubeconfig');
  const cluster: ClusterState = {
    name,
    kubeconfig,
    server,
    caFile,
    certDir,
    dir,
    ports,
    pids: {},
    nodes: FAKE_NODES,
    kubernetesVersion: bins.versions.kubernetes,
    binaries: { etcd: bins.etcd, apiserver: bins['kube-apiserver'] },
    etcdVersion: bins.versions.etcd,
    kwokVersion: bins.versions.kwok,
  };
  fs.writeFileSync(
    kubeconfig,
    kubeconfigYaml({
      name,
      server,
      caFile,
      certFile: path.join(certDir, 'admin.crt'),
      keyFile: path.join(certDir, 'admin.key'),
    }),
  );
  try {
    await startClusterProcesses(cluster, bins, injector);
  } catch (err) {
    await downCluster(cluster); // leave nothing half-started behind
    throw err;
  }
  log(`${name}: ${server} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return cluster;
}

export async function downCluster(c: ClusterState): Promise<void> {
  const order = ['kwok', 'scheduler', 'controllerManager', 'apiserver', 'etcd'] as const;
  for (const k of order) if (c.pids[k]) await stopPid(c.pids[k], { graceMs: 10_000 });
}
