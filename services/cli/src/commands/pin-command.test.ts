import { describe, expect, it } from 'vitest';
import { runCli } from '../program.js';
import { PinExitCode, pinText, type PinIo } from './pin-command.js';

const ROLLOUT = `apiVersion: meshwave.io/v1alpha1
kind: Rollout
metadata: { name: r }
spec:
  from: 1-24-5
  to: 1-25-2
  deadline: "2030-01-01T00:00:00Z"
  granularity: GRANULARITY
  waves:
    - name: all
      percent: 100
`;

const INVENTORY = JSON.stringify({
  clusters: [
    {
      name: 'c1',
      workloads: [
        { namespace: 'shop', kind: 'Deployment', name: 'cart', revision: '1-24-5' },
        { namespace: 'shop', kind: 'StatefulSet', name: 'db', revision: '1-24-5' },
      ],
    },
  ],
});

const MANIFESTS = `# shop namespace, owned by team shop
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio-injection: enabled  # legacy
---
# the cart service
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
spec:
  template:
    metadata:
      labels:
        app: cart
        istio.io/rev: 1-24-5   # pinned by meshwave
    spec:
      containers:
        - name: cart
          image: "registry.example/cart:1.2"
---
apiVersion: v1
kind: ConfigMap
metadata:   {name: untouched,   namespace: shop}
data: { a: "1" }
`;

function newIo(files: Record<string, string>): PinIo & { out: string[]; err: string[]; files: Record<string, string> } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    files,
    env: {},
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    readFile: async (p) => {
      const t = files[p];
      if (t === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return t;
    },
    writeFile: async (p, t) => {
      files[p] = t;
    },
    listYamlFiles: async (p) =>
      p.endsWith('/') ? Object.keys(files).filter((f) => f.startsWith(p) && /\.ya?ml$/.test(f)) : undefined,
  };
}

describe('meshwave pin', () => {
  it('Given workload granularity, pins the template label, keeps comments, and leaves other documents byte for byte', async () => {
    const io = newIo({
      'rollout.yml': ROLLOUT.replace('GRANULARITY', 'workload'),
      'inv.json': INVENTORY,
      'k8s/app.yaml': MANIFESTS,
    });
    const code = await runCli(
      ['pin', '-f', 'k8s/', '--rollout', 'rollout.yml', '--inventory', 'inv.json', '--now', '2029-01-01T00:00:00Z'],
      io,
    );
    // the namespace label stays: the inventory's StatefulSet db is not in these manifests and would lose its sidecar
    expect(io.err).toEqual([
      'Namespace/shop keeps istio.io/rev=default: these workloads of it are not in the manifests and would lose their sidecar without it: StatefulSet/db',
    ]);
    expect(code).toBe(PinExitCode.Ok);
    const text = io.files['k8s/app.yaml']!;
    expect(text).toContain('istio.io/rev: 1-25-2 # pinned by meshwave');
    expect(text).toContain('# the cart service');
    expect(text).toContain('metadata:   {name: untouched,   namespace: shop}');
    expect(text.startsWith('# shop namespace, owned by team shop\napiVersion: v1\nkind: Namespace')).toBe(true);
    expect(text).toContain('istio-injection: enabled  # legacy');
  });

  it('Given workload granularity in a revision-labelled namespace, hands the label over to the unassigned workloads, and a second run changes nothing', async () => {
    const manifests = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio.io/rev: 1-24-5 # team shop
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: cart, namespace: shop }
spec:
  template:
    metadata:
      labels: { app: cart }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  template:
    metadata:
      labels: { app: web }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: batch, namespace: shop }
spec:
  template:
    metadata:
      labels: { app: batch, sidecar.istio.io/inject: 'false' }
`;
    // every workload of the namespace is in the manifests: the namespace label may go (ADR 0011)
    const inventory = JSON.stringify({
      clusters: [
        {
          name: 'c1',
          workloads: [
            { namespace: 'shop', kind: 'Deployment', name: 'cart', revision: '1-24-5' },
            { namespace: 'shop', kind: 'Deployment', name: 'web', revision: null },
            { namespace: 'shop', kind: 'Deployment', name: 'batch', revision: null },
          ],
        },
      ],
    });
    const io = newIo({
      'rollout.yml': ROLLOUT.replace('GRANULARITY', 'workload'),
      'inv.json': inventory,
      'ns.yaml': manifests.split('---\n')[0]!,
      'apps.yaml': manifests.split('---\n').slice(1).join('---\n'),
    });
    const args = ['-f', 'ns.yaml', '-f', 'apps.yaml', '--rollout', 'rollout.yml', '--inventory', 'inv.json'];
    const now = ['--now', '2029-01-01T00:00:00Z'];
    expect(await runCli(['pin', ...args, ...now], io)).toBe(PinExitCode.Ok);
    expect(io.err).toEqual([]);
    expect(io.files['ns.yaml']).not.toContain('istio.io/rev');
    expect(io.out.join('\n').split('\n')).toContain(
      'ns.yaml:2: Namespace/shop → istio.io/rev removed (handed over to its workloads)',
    );
    expect(io.files['apps.yaml']).toContain('labels: { app: cart, istio.io/rev: 1-25-2 }');
    expect(io.files['apps.yaml']).toContain('labels: { app: web, istio.io/rev: 1-24-5 }');
    expect(io.files['apps.yaml']).toContain("labels: { app: batch, sidecar.istio.io/inject: 'false' }");
    expect(await runCli(['pin', ...args, ...now, '--check'], io)).toBe(PinExitCode.Ok);
  });

  it('Given namespace granularity, relabels the namespace and drops istio-injection', () => {
    const { text, changes } = pinText(MANIFESTS, 'app.yaml', {
      namespaces: new Map([['shop', '1-25-2']]),
      workloads: new Map(),
    });
    expect(changes.map((c) => [c.object, c.line])).toEqual([
      ['Namespace/shop', 3],
      ['Deployment/shop/cart', 11],
    ]);
    expect(text).not.toContain('istio-injection');
    expect(text).toMatch(/labels:\n {4}istio.io\/rev: 1-25-2/);
  });

  it('--check exits 1 and writes nothing when a change would be made, 0 once pinned', async () => {
    const io = newIo({
      'rollout.yml': ROLLOUT.replace('GRANULARITY', 'workload'),
      'inv.json': INVENTORY,
      'app.yaml': MANIFESTS,
    });
    const args = [
      '-f',
      'app.yaml',
      '--rollout',
      'rollout.yml',
      '--inventory',
      'inv.json',
      '--now',
      '2029-01-01T00:00:00Z',
    ];
    expect(await runCli(['pin', ...args, '--check'], io)).toBe(PinExitCode.WouldChange);
    expect(io.files['app.yaml']).toBe(MANIFESTS);
    expect(io.out.join('\n')).toContain('app.yaml:11: Deployment/shop/cart → istio.io/rev=1-25-2 (would change)');
    expect(await runCli(['pin', ...args], io)).toBe(PinExitCode.Ok);
    expect(await runCli(['pin', ...args, '--check'], io)).toBe(PinExitCode.Ok);
  });

  it('reports an unparseable manifest with its file and line, and rewrites nothing', async () => {
    const broken = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [shop\n';
    const io = newIo({
      'rollout.yml': ROLLOUT.replace('GRANULARITY', 'namespace'),
      'inv.json': INVENTORY,
      'k8s/a.yaml': MANIFESTS,
      'k8s/b.yaml': broken,
    });
    const code = await runCli(
      ['pin', '-f', 'k8s/', '--rollout', 'rollout.yml', '--inventory', 'inv.json', '--now', '2029-01-01T00:00:00Z'],
      io,
    );
    expect(code).toBe(PinExitCode.InvalidInput);
    expect(io.err.join('\n')).toMatch(/^k8s\/b\.yaml:\d+:\d+: /);
    expect(io.files['k8s/a.yaml']).toBe(MANIFESTS);
  });

  it('asks a planner for the assignment when given --planner', async () => {
    const io = {
      ...newIo({ 'app.yaml': MANIFESTS }),
      fetch: (async (url: URL | string) => {
        expect(String(url)).toBe('http://planner.test/v1/clusters/c1');
        return new Response(
          JSON.stringify({
            workloadList: [{ namespace: 'shop', kind: 'Deployment', name: 'cart', revision: '1-25-2' }],
          }),
        );
      }) as typeof fetch,
    };
    expect(await runCli(['pin', '-f', 'app.yaml', '--planner', 'http://planner.test', '--cluster', 'c1'], io)).toBe(
      PinExitCode.Ok,
    );
    expect(io.files['app.yaml']).toContain('istio.io/rev: 1-25-2');
  });
});
