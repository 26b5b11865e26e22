// The agent's identity exactly as the Helm chart grants it: the chart's ServiceAccount, ClusterRole, Role and
// bindings (templates/serviceaccount.yaml and templates/rbac.yaml) rendered by the real helm of the test
// environment (ADR 0017) for a release named after the namespace, applied to a real apiserver, and a kubeconfig
// holding a token of that ServiceAccount.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadHelmEnv, type ClusterEnv } from '../../support/env.ts';
import { REQUIRED, renderChart } from '../../support/helm-chart.ts';
import type { AdminClients } from './fixtures.ts';

/** The chart's ServiceAccount and RBAC for release `namespace` in `namespace`. */
function renderIdentity(cluster: ClusterEnv, namespace: string, values: readonly string[]): Record<string, unknown>[] {
  const showOnly = ['--show-only', 'templates/serviceaccount.yaml', '--show-only', 'templates/rbac.yaml'];
  return renderChart(
    loadHelmEnv(),
    cluster,
    'meshwave-cluster-agent',
    [...REQUIRED['meshwave-cluster-agent'], ...showOnly, ...values.flatMap((v) => ['--set', v])],
    {
      name: namespace,
      namespace,
    },
  ) as unknown as Record<string, unknown>[];
}

export interface ChartIdentity {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly fullname: string;
  cleanup(): Promise<void>;
}

/** Installs the chart's RBAC into `namespace` (created) and returns a kubeconfig for its ServiceAccount. */
export async function newChartIdentity(
  cluster: ClusterEnv,
  admin: AdminClients,
  namespace: string,
  /** `--set` values of the chart, e.g. `revisionTags={prod-stable}` */
  values: readonly string[] = [],
): Promise<ChartIdentity> {
  const fullname = `${namespace}-meshwave-cluster-agent`;
  await admin.core.createNamespace({ body: { metadata: { name: namespace } } });
  // Roles outside the release namespace (istio-system's, with `meshSplit`): deleted at cleanup by name
  const elsewhere: { kind: string; namespace: string; name: string }[] = [];
  for (const doc of renderIdentity(cluster, namespace, values)) {
    const body = doc as never;
    const meta = (doc as { metadata?: { namespace?: string; name?: string } }).metadata;
    const kind = (doc as { kind: string }).kind;
    if ((kind === 'Role' || kind === 'RoleBinding') && meta?.namespace !== undefined && meta.namespace !== namespace) {
      elsewhere.push({ kind, namespace: meta.namespace, name: meta.name ?? '' });
      if (kind === 'Role') await admin.rbac.createNamespacedRole({ namespace: meta.namespace, body });
      else await admin.rbac.createNamespacedRoleBinding({ namespace: meta.namespace, body });
      continue;
    }
    switch (kind) {
      case 'ServiceAccount':
        await admin.core.createNamespacedServiceAccount({ namespace, body });
        break;
      case 'ClusterRole':
        await admin.rbac.createClusterRole({ body });
        break;
      case 'ClusterRoleBinding':
        await admin.rbac.createClusterRoleBinding({ body });
        break;
      case 'Role':
        await admin.rbac.createNamespacedRole({ namespace, body });
        break;
      case 'RoleBinding':
        await admin.rbac.createNamespacedRoleBinding({ namespace, body });
        break;
      default:
        throw new Error(`unexpected kind in the chart's RBAC: ${(doc as { kind: string }).kind}`);
    }
  }
  const token = await admin.core.createNamespacedServiceAccountToken({
    namespace,
    name: fullname,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-agent-')), 'kubeconfig');
  fs.writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: cluster.name, cluster: { server: cluster.server, 'certificate-authority': cluster.caFile } }],
      users: [{ name: fullname, user: { token: token.status?.token } }],
      contexts: [{ name: 'agent', context: { cluster: cluster.name, user: fullname } }],
      'current-context': 'agent',
    }),
  );
  return {
    kubeconfig: file,
    namespace,
    fullname,
    async cleanup() {
      await admin.rbac.deleteClusterRole({ name: fullname }).catch(() => undefined);
      await admin.rbac.deleteClusterRoleBinding({ name: fullname }).catch(() => undefined);
      for (const r of elsewhere)
        await (
          r.kind === 'Role'
            ? admin.rbac.deleteNamespacedRole({ namespace: r.namespace, name: r.name })
            : admin.rbac.deleteNamespacedRoleBinding({ namespace: r.namespace, name: r.name })
        ).catch(() => undefined);
      await admin.core.deleteNamespace({ name: namespace }).catch(() => undefined);
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    },
  };
}
