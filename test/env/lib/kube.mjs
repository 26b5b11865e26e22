// Kubernetes "clusters" without Docker: per cluster etcd + kube-apiserver (TLS, RBAC, service-account keys,
// admin client certificate; flags as controller-runtime's envtest uses them) + kube-controller-manager +
// kube-scheduler + kwok (fake nodes and pod lifecycle). Binaries come from test/env/build-go.sh, or from
// KUBEBUILDER_ASSETS when it holds them.
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import {
  cacheDir,
  envRoot,
  freePorts,
  log,
  pidAlive,
  portsFree,
  run,
  runVisible,
  startDetached,
  stateDir,
  stopPid,
  waitFor,
  which,
} from './common.mjs';

/** Fake nodes kwok keeps Ready in every cluster. */
export const FAKE_NODES = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'];

/** The version of `mod` pinned in test/env/go/<dir>/go.mod. */
export function goModVersion(dir, mod) {
  const text = fs.readFileSync(path.join(envRoot, 'go', dir, 'go.mod'), 'utf8');
  const m = new RegExp(`^\\s*(?:require\\s+)?${mod.replace(/[./]/g, '\\$&')}\\s+(v[^\\s]+)`, 'm').exec(text);
  if (!m) throw new Error(`${mod} not pinned in test/env/go/${dir}/go.mod`);
  return m[1];
}

export function pinnedVersions() {
  return {
    kubernetes: goModVersion('kube', 'k8s.io/kubernetes'),
    etcd: goModVersion('etcd', 'go.etcd.io/etcd/server/v3'),
    kwok: goModVersion('kwok', 'sigs.k8s.io/kwok'),
  };
}

/**
 * Paths of etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok; builds what is missing
 * (cold: several minutes on 2 cores, then cached).
 */
export async function ensureKubeBinaries() {
  const v = pinnedVersions();
  const assets = process.env.KUBEBUILDER_ASSETS;
  const fromAssets = (bin) => (assets && fs.existsSync(path.join(assets, bin)) ? path.join(assets, bin) : null);
  const built = {
    etcd: path.join(cacheDir(), `etcd-${v.etcd}`, 'etcd'),
    'kube-apiserver': path.join(cacheDir(), `kube-${v.kubernetes}`, 'kube-apiserver'),
    'kube-controller-manager': path.join(cacheDir(), `kube-${v.kubernetes}`, 'kube-controller-manager'),
    'kube-scheduler': path.join(cacheDir(), `kube-${v.kubernetes}`, 'kube-scheduler'),
    kwok: path.join(cacheDir(), `kwok-${v.kwok}`, 'kwok'),
  };
  const bins = {};
  const targets = new Set();
  for (const [name, p] of Object.entries(built)) {
    const asset = fromAssets(name);
    bins[name] = asset ?? p;
    const complete = fs.existsSync(path.join(path.dirname(p), '.complete'));
    if (!asset && !complete) targets.add(name === 'etcd' ? 'etcd' : name === 'kwok' ? 'kwok' : 'kube');
  }
  const stagesDir = path.join(cacheDir(), `kwok-${v.kwok}`, 'stages');
  if (!fs.existsSync(path.join(stagesDir, '.complete'))) targets.add('kwok');
  if (targets.size > 0) {
    if (!which('go'))
      throw new Error(`building ${[...targets].join(', ')} needs Go (1.25+) on PATH, or KUBEBUILDER_ASSETS`);
    log(`building ${[...targets].join(', ')} (cold build, several minutes; cached under ${cacheDir()})`);
    await runVisible('bash', [path.join(envRoot, 'build-go.sh'), ...targets]);
  }
  return { ...bins, stagesDir, versions: v };
}

// ---------------------------------------------------------------------------------------------------------
// certificates (openssl)

function openssl(args, cwd) {
  return run('openssl', args, { cwd });
}

function newCa(dir, name, cn) {
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-nodes',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '3650',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    dir,
  );
}

/**
 * Issues a certificate signed by `<ca>.crt/.key` in `dir`. `usage` is 'client' or 'server'; `orgs` become
 * O= entries (Kubernetes groups), `sans` subjectAltName entries (e.g. 'IP:127.0.0.1').
 */
export function issueCert(dir, { ca, name, cn, orgs = [], usage, sans = [] }) {
  const subj = `${orgs.map((o) => `/O=${o}`).join('')}/CN=${cn}`;
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
      ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
    ].join('\n'),
  );
  openssl(
    [
      'req',
      '-new',
      '-nodes',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subj,
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '3650',
      '-sha256',
      '-extfile',
      ext,
    ],
    dir,
  );
  fs.rmSync(path.join(dir, `${name}.csr`));
  fs.rmSync(ext);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

function ensureCerts(certDir) {
  if (fs.existsSync(path.join(certDir, '.complete'))) return;
  fs.mkdirSync(certDir, { recursive: true });
  newCa(certDir, 'ca', 'meshwave-test-serving-ca');
  newCa(certDir, 'client-ca', 'meshwave-test-client-ca');
  issueCert(certDir, {
    ca: 'ca',
    name: 'apiserver',
    cn: 'kube-apiserver',
    usage: 'server',
    sans: [
      'IP:127.0.0.1',
      'IP:10.0.0.1',
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
    ],
  });
  issueCert(certDir, { ca: 'client-ca', name: 'admin', cn: 'admin', orgs: ['system:masters'], usage: 'client' });
  openssl(['genrsa', '-out', 'sa.key', '2048'], certDir);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], certDir);
  fs.writeFileSync(path.join(certDir, '.complete'), '');
}

/** A kubeconfig with embedded credentials for `server`. */
export function kubeconfigYaml({ name, server, caFile, certFile, keyFile, user = 'admin' }) {
  const b64 = (f) => fs.readFileSync(f).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: ${name}
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(caFile)}
contexts:
- name: ${name}
  context:
    cluster: ${name}
    user: ${user}
current-context: ${name}
users:
- name: ${user}
  user:
    client-certificate-data: ${b64(certFile)}
    client-key-data: ${b64(keyFile)}
`;
}

/**
 * Writes a kubeconfig for a new client-certificate identity (CN=user, O=groups) of `cluster`; RBAC decides
 * what it may do. Returns the kubeconfig's path.
 */
export function writeUserKubeconfig(cluster, user, groups = []) {
  const dir = path.join(cluster.certDir, 'users');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(cluster.certDir, 'client-ca.crt'), path.join(dir, 'client-ca.crt'));
  fs.copyFileSync(path.join(cluster.certDir, 'client-ca.key'), path.join(dir, 'client-ca.key'));
  const name = `${user}${groups.length ? `.${groups.join('.')}` : ''}`.replace(/[^A-Za-z0-9_.-]/g, '_');
  const { cert, key } = issueCert(dir, { ca: 'client-ca', name, cn: user, orgs: groups, usage: 'client' });
  const file = path.join(dir, `${name}.kubeconfig`);
  fs.writeFileSync(
    file,
    kubeconfigYaml({
      name: cluster.name,
      server: cluster.server,
      caFile: cluster.caFile,
      certFile: cert,
      keyFile: key,
      user,
    }),
  );
  return file;
}

// ---------------------------------------------------------------------------------------------------------
// talking to the apiserver with the admin certificate

export function kubeRequest(cluster, method, urlPath, body, { timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(urlPath, cluster.server);
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = https.request(
      {
        hostname: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        ca: fs.readFileSync(cluster.caFile),
        cert: fs.readFileSync(path.join(cluster.certDir, 'admin.crt')),
        key: fs.readFileSync(path.join(cluster.certDir, 'admin.key')),
        headers: {
          Accept: 'application/json',
          ...(data !== undefined
            ? {
                'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
                'Content-Length': Buffer.byteLength(data),
              }
            : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, body: json ?? text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timeout`)));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** Creates the object, or merge-patches it when it exists (idempotent). */
export async function applyObject(cluster, collectionPath, obj) {
  const created = await kubeRequest(cluster, 'POST', collectionPath, obj);
  if (created.status === 201 || created.status === 200) return created.body;
  if (created.status !== 409)
    throw new Error(`POST ${collectionPath}: ${created.status} ${JSON.stringify(created.body)}`);
  const patched = await kubeRequest(cluster, 'PATCH', `${collectionPath}/${obj.metadata.name}`, obj);
  if (patched.status !== 200)
    throw new Error(`PATCH ${collectionPath}/${obj.metadata.name}: ${patched.status} ${JSON.stringify(patched.body)}`);
  return patched.body;
}

function insecureGet(url) {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https') ? https : http;
    const req = mod.get(url, { rejectUnauthorized: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function apiReady(cluster) {
  const r = await kubeRequest(cluster, 'GET', '/readyz', undefined, { timeoutMs: 3000 });
  return r.status === 200;
}

async function nodesReady(cluster, names) {
  const r = await kubeRequest(cluster, 'GET', '/api/v1/nodes', undefined, { timeoutMs: 3000 });
  if (r.status !== 200) return false;
  const ready = new Set(
    r.body.items
      .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((n) => n.metadata.name),
  );
  return names.every((n) => ready.has(n));
}

// ---------------------------------------------------------------------------------------------------------
// one cluster

function procAlive(c) {
  return ['etcd', 'apiserver', 'controllerManager', 'scheduler', 'kwok'].every((k) => pidAlive(c.pids?.[k]));
}

export async function clusterStatus(c) {
  const processes = Object.fromEntries(Object.entries(c.pids ?? {}).map(([k, pid]) => [k, pidAlive(pid)]));
  let apiserver = false;
  let nodes = false;
  if (processes.apiserver) {
    apiserver = await apiReady(c).catch(() => false);
    nodes = apiserver && (await nodesReady(c, c.nodes ?? FAKE_NODES).catch(() => false));
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

/**
 * Starts (or reuses, when all its processes run and it answers) the cluster `name`. Its etcd data and
 * certificates stay in the state directory, so a restart keeps the objects.
 */
export async function upCluster(name, prev, bins, injector) {
  if (prev && procAlive(prev) && (await clusterStatus(prev)).healthy) {
    log(`${name}: reusing ${prev.server}`);
    return prev;
  }
  if (prev) await downCluster(prev); // half-alive: restart all of it
  const t0 = Date.now();
  const dir = path.join(stateDir(), 'clusters', name);
  const certDir = path.join(dir, 'certs');
  const logDir = path.join(dir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  ensureCerts(certDir);

  const want = ['etcd', 'etcdPeer', 'apiserver', 'controllerManager', 'scheduler', 'kwok'];
  let ports = prev?.ports;
  if (!ports || !(await portsFree(want.map((k) => ports[k])))) {
    const p = await freePorts(want.length);
    ports = Object.fromEntries(want.map((k, i) => [k, p[i]]));
    // A new address is a new cluster: objects left by earlier runs (webhooks pointing at dead ports with
    // failurePolicy Fail, above all) must not leak in. Same ports (restart drills) keep the data.
    fs.rmSync(path.join(dir, 'etcd'), { recursive: true, force: true });
  }
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const caFile = path.join(certDir, 'ca.crt');
  const kubeconfig = path.join(dir, 'kubeconfig');
  const cluster = {
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

async function startClusterProcesses(cluster, bins, injector) {
  const { name, dir, certDir, ports, kubeconfig, caFile } = cluster;
  const logDir = path.join(dir, 'logs');
  const childEnv = { NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' };
  const lf = (n) => path.join(logDir, `${n}.log`);

  // etcd (fsync off: test data, as envtest does)
  const etcdUrl = `http://127.0.0.1:${ports.etcd}`;
  const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
  cluster.pids.etcd = startDetached(
    bins.etcd,
    [
      `--name=${name}`,
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${name}=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=2147483648',
      '--log-level=warn',
    ],
    { logFile: lf('etcd'), env: childEnv },
  );
  await waitFor(`${name} etcd`, async () => (await insecureGet(`${etcdUrl}/health`)) === 200, {
    timeoutMs: 60_000,
    alive: () => pidAlive(cluster.pids.etcd),
  });

  cluster.pids.apiserver = startDetached(
    bins['kube-apiserver'],
    [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      `--tls-cert-file=${path.join(certDir, 'apiserver.crt')}`,
      `--tls-private-key-file=${path.join(certDir, 'apiserver.key')}`,
      `--secure-port=${ports.apiserver}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      `--client-ca-file=${path.join(certDir, 'client-ca.crt')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${path.join(certDir, 'sa.pub')}`,
      `--service-account-signing-key-file=${path.join(certDir, 'sa.key')}`,
      '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
      '--profiling=false',
      '--event-ttl=30m',
      '--v=0',
    ],
    { logFile: lf('kube-apiserver'), env: childEnv },
  );
  await waitFor(`${name} kube-apiserver`, () => apiReady(cluster), {
    timeoutMs: 180_000,
    intervalMs: 300,
    alive: () => pidAlive(cluster.pids.apiserver),
  });

  const delegated = [`--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`];
  cluster.pids.controllerManager = startDetached(
    bins['kube-controller-manager'],
    [
      `--kubeconfig=${kubeconfig}`,
      ...delegated,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${path.join(dir, 'kcm-certs')}`,
      `--root-ca-file=${caFile}`,
      `--service-account-private-key-file=${path.join(certDir, 'sa.key')}`,
      `--cluster-name=${name}`,
      '--concurrent-deployment-syncs=10',
      '--concurrent-replicaset-syncs=10',
      '--kube-api-qps=100',
      '--kube-api-burst=200',
      '--profiling=false',
    ],
    { logFile: lf('kube-controller-manager'), env: childEnv },
  );

  cluster.pids.scheduler = startDetached(
    bins['kube-scheduler'],
    [
      `--kubeconfig=${kubeconfig}`,
      ...delegated,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      `--cert-dir=${path.join(dir, 'scheduler-certs')}`,
      '--kube-api-qps=100',
      '--kube-api-burst=200',
      '--profiling=false',
    ],
    { logFile: lf('kube-scheduler'), env: childEnv },
  );

  const kwokConfig = path.join(dir, 'kwok.yaml');
  fs.writeFileSync(kwokConfig, kwokConfigYaml(bins.stagesDir));
  cluster.pids.kwok = startDetached(
    bins.kwok,
    [
      `--config=${kwokConfig}`,
      `--kubeconfig=${kubeconfig}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--server-address=127.0.0.1:${ports.kwok}`,
      '--cidr=10.244.0.0/16',
      '--node-ip=10.1.0.1',
    ],
    { logFile: lf('kwok'), env: childEnv },
  );

  for (const node of FAKE_NODES) await applyObject(cluster, '/api/v1/nodes', fakeNode(node));
  await waitFor(`${name} fake nodes Ready`, () => nodesReady(cluster, FAKE_NODES), {
    timeoutMs: 120_000,
    intervalMs: 300,
    alive: () => procAlive(cluster),
  });
  await waitFor(
    `${name} kube-controller-manager healthz`,
    async () => (await insecureGet(`https://127.0.0.1:${ports.controllerManager}/healthz`)) === 200,
    { timeoutMs: 120_000, alive: () => pidAlive(cluster.pids.controllerManager) },
  );
  await waitFor(
    `${name} kube-scheduler healthz`,
    async () => (await insecureGet(`https://127.0.0.1:${ports.scheduler}/healthz`)) === 200,
    { timeoutMs: 120_000, alive: () => pidAlive(cluster.pids.scheduler) },
  );
  await waitFor(
    `${name} default service account`,
    async () =>
      (await kubeRequest(cluster, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
    { timeoutMs: 120_000 },
  );

  if (injector) {
    const { registerDefaultRevisions } = await import('../injector/registration.mjs');
    await registerDefaultRevisions(cluster, injector);
  }
}

export async function downCluster(c) {
  const order = ['kwok', 'scheduler', 'controllerManager', 'apiserver', 'etcd'];
  for (const k of order) if (c.pids?.[k]) await stopPid(c.pids[k], { graceMs: 10_000 });
}

function fakeNode(name) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        type: 'kwok',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/role': 'agent',
        'node-role.kubernetes.io/agent': '',
      },
    },
    // no kwok taint: ordinary manifests schedule onto the fake nodes without a toleration
    spec: {},
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
      capacity: { cpu: '32', memory: '256Gi', pods: '110' },
    },
  };
}

function kwokConfigYaml(stagesDir) {
  const ours = path.join(envRoot, 'kwok');
  const stageFiles = [
    ...fs
      .readdirSync(stagesDir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => path.join(stagesDir, f)),
    ...fs
      .readdirSync(ours)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => path.join(ours, f)),
  ];
  const docs = [
    `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 4
  podPlayStageParallelism: 4
  nodePlayStageParallelism: 4
  podsOnNodeSyncParallelism: 2
  enablePodsOnNodeSyncListPager: true
  enableDebuggingHandlers: false
`,
  ];
  for (const f of stageFiles) docs.push(fs.readFileSync(f, 'utf8'));
  return docs.join('\n---\n');
}
