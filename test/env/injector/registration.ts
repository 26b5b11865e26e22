// Registers the injector double in a cluster exactly as istiod registers its own injection webhook per
// revision (MutatingWebhookConfiguration `istio-sidecar-injector-<rev>`, webhooks
// `rev.namespace.sidecar-injector.istio.io` and `rev.object.sidecar-injector.istio.io` with istiod's
// selectors; revision tags as `istio-revision-tag-<tag>`), reached through clientConfig.url + caBundle.
// `cluster` and `injector` are the entries of env.json (test/support/env-state.ts).
import type { InjectorState } from '../../support/env-state.ts';
import { eventually } from '../../support/eventually.ts';
import { applyObject, kubeRequest, type ClusterAccess } from '../lib/kube-api.ts';
import { FAULT_ANNOTATION, STATUS_ANNOTATION, versionOfRevision } from './mutate.ts';

/** The two control-plane revisions every cluster gets at `up`. */
export const DEFAULT_REVISIONS: readonly { revision: string; version: string }[] = [
  { revision: '1-24-5', version: '1.24.5' },
  { revision: '1-25-2', version: '1.25.2' },
];

const MWC_PATH = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

/** Where the webhooks send their reviews: the injector double's URL and the CA of its serving certificate. */
export type InjectorAccess = Pick<InjectorState, 'url' | 'caBundle'>;

export interface RevisionSpec {
  /** e.g. `1-25-2` */
  readonly revision: string;
  /** proxy image tag, e.g. `1.25.2`; derived from a numeric revision when omitted */
  readonly version?: string;
  /** `crashloop` makes the revision's pods crash-loop under kwok; null/omitted = healthy */
  readonly fault?: string | null;
}

/** A MutatingWebhookConfiguration as istiod writes it for a revision or a tag. */
export interface WebhookConfiguration {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
  };
  readonly webhooks: unknown[];
}

interface ClientConfig {
  readonly url: string;
  readonly caBundle: string;
}

function webhookPath({
  revision,
  version,
  fault,
}: {
  revision: string;
  version: string;
  fault: string | null;
}): string {
  return `/inject/${revision}/${version}${fault ? `/fault/${fault}` : ''}`;
}

function webhooks(value: string, clientConfig: ClientConfig): Record<string, unknown>[] {
  const common = {
    admissionReviewVersions: ['v1'],
    clientConfig,
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    reinvocationPolicy: 'Never',
    sideEffects: 'None',
    timeoutSeconds: 10,
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: '*' }],
  };
  const injectNotFalse = { key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] };
  return [
    {
      name: 'rev.namespace.sidecar-injector.istio.io',
      ...common,
      namespaceSelector: {
        matchExpressions: [
          { key: 'istio.io/rev', operator: 'In', values: [value] },
          { key: 'istio-injection', operator: 'DoesNotExist' },
        ],
      },
      objectSelector: { matchExpressions: [injectNotFalse] },
    },
    {
      name: 'rev.object.sidecar-injector.istio.io',
      ...common,
      namespaceSelector: {
        matchExpressions: [
          { key: 'istio.io/rev', operator: 'DoesNotExist' },
          { key: 'istio-injection', operator: 'DoesNotExist' },
        ],
      },
      objectSelector: { matchExpressions: [injectNotFalse, { key: 'istio.io/rev', operator: 'In', values: [value] }] },
    },
    // The `default` tag also serves the pre-revision labels, as istiod's default webhook does:
    // `istio-injection=enabled` on a namespace, and `sidecar.istio.io/inject=true` on a pod of an unlabelled one.
    ...(value === 'default'
      ? [
          {
            name: 'namespace.sidecar-injector.istio.io',
            ...common,
            namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
            objectSelector: { matchExpressions: [injectNotFalse] },
          },
          {
            name: 'object.sidecar-injector.istio.io',
            ...common,
            namespaceSelector: {
              matchExpressions: [
                { key: 'istio-injection', operator: 'DoesNotExist' },
                { key: 'istio.io/rev', operator: 'DoesNotExist' },
              ],
            },
            objectSelector: {
              matchExpressions: [
                { key: 'sidecar.istio.io/inject', operator: 'In', values: ['true'] },
                { key: 'istio.io/rev', operator: 'DoesNotExist' },
              ],
            },
          },
        ]
      : []),
  ];
}

/** The MutatingWebhookConfiguration istiod would create for `revision` (or for `tag` pointing at it). */
export function webhookConfiguration(
  injector: InjectorAccess,
  { revision, version = versionOfRevision(revision), fault = null, tag = null }: RevisionSpec & { tag?: string | null },
): WebhookConfiguration {
  const clientConfig = {
    url: `${injector.url}${webhookPath({ revision, version, fault })}`,
    caBundle: injector.caBundle,
  };
  const labels: Record<string, string> = {
    app: 'sidecar-injector',
    'istio.io/rev': revision,
    'meshwave.test/injector-double': 'true',
  };
  if (tag) labels['istio.io/tag'] = tag;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      name: tag ? `istio-revision-tag-${tag}` : `istio-sidecar-injector-${revision}`,
      labels,
      annotations: { 'meshwave.test/proxy-version': version, ...(fault ? { [FAULT_ANNOTATION]: fault } : {}) },
    },
    webhooks: webhooks(tag ?? revision, clientConfig),
  };
}

/**
 * Waits until the apiserver calls the webhook as registered: a dry-run pod selecting the revision (or tag)
 * through its own istio.io/rev label in `default` comes back injected with the expected revision and fault.
 */
async function awaitInjection(
  cluster: ClusterAccess,
  { revision, fault, value }: { revision: string; fault: string | null; value: string },
): Promise<void> {
  const probe = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'injector-probe-', namespace: 'default', labels: { 'istio.io/rev': value } },
    spec: { containers: [{ name: 'probe', image: 'registry.k8s.io/pause:3.10' }] },
  };
  await eventually(
    `${cluster.name}: webhook for ${value} in effect`,
    async () => {
      const r = await kubeRequest(cluster, 'POST', '/api/v1/namespaces/default/pods?dryRun=All', probe);
      const ann: Record<string, string> = r.body?.metadata?.annotations ?? {};
      const injected = ann[STATUS_ANNOTATION];
      if (r.status !== 201 || !injected) throw new Error(`${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      const status = JSON.parse(injected) as { revision: string };
      if (status.revision === revision && (ann[FAULT_ANNOTATION] ?? null) === (fault ?? null)) return true;
      throw new Error(`revision ${status.revision}, fault ${ann[FAULT_ANNOTATION] ?? 'none'}`);
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

/** Registers (or updates) the injection webhook of `revision` in `cluster`; resolves once it is in effect. */
export async function registerRevision(
  cluster: ClusterAccess,
  injector: InjectorAccess,
  { revision, version = versionOfRevision(revision), fault = null }: RevisionSpec,
): Promise<void> {
  await applyObject(cluster, MWC_PATH, webhookConfiguration(injector, { revision, version, fault }));
  await awaitInjection(cluster, { revision, fault, value: revision });
}

/** Makes `revision` bad (its new pods crash-loop, never Ready) or good again, in `cluster` only. */
export async function markRevisionBad(
  cluster: ClusterAccess,
  injector: InjectorAccess,
  revision: string,
  bad = true,
): Promise<void> {
  const r = await kubeRequest(cluster, 'GET', `${MWC_PATH}/istio-sidecar-injector-${revision}`);
  if (r.status !== 200) throw new Error(`${cluster.name}: revision ${revision} is not registered`);
  const version = r.body.metadata.annotations?.['meshwave.test/proxy-version'] ?? versionOfRevision(revision);
  await registerRevision(cluster, injector, { revision, version, fault: bad ? 'crashloop' : null });
}

/** `istio-revision-tag-<tag>` pointing at `revision`, as `istioctl tag set` does. */
export async function registerRevisionTag(
  cluster: ClusterAccess,
  injector: InjectorAccess,
  { tag, revision, version = versionOfRevision(revision), fault = null }: RevisionSpec & { tag: string },
): Promise<void> {
  await applyObject(cluster, MWC_PATH, webhookConfiguration(injector, { revision, version, fault, tag }));
  await awaitInjection(cluster, { revision, fault, value: tag });
}

/** Removes the webhook of `revision` (or of a tag with `{ tag }`); absent is fine. */
export async function unregisterRevision(
  cluster: ClusterAccess,
  revisionOrTag: string,
  { tag = false }: { tag?: boolean } = {},
): Promise<void> {
  const name = tag ? `istio-revision-tag-${revisionOrTag}` : `istio-sidecar-injector-${revisionOrTag}`;
  const r = await kubeRequest(cluster, 'DELETE', `${MWC_PATH}/${name}`);
  if (r.status !== 200 && r.status !== 404) throw new Error(`DELETE ${name}: ${r.status}`);
}

export async function registerDefaultRevisions(cluster: ClusterAccess, injector: InjectorAccess): Promise<void> {
  for (const rev of DEFAULT_REVISIONS) await registerRevision(cluster, injector, rev);
}

/** After the injector moved to another port: points every registration of the double at the new URL. */
export async function repointRegistrations(cluster: ClusterAccess, injector: InjectorAccess): Promise<void> {
  const r = await kubeRequest(
    cluster,
    'GET',
    `${MWC_PATH}?labelSelector=${encodeURIComponent('meshwave.test/injector-double=true')}`,
  );
  if (r.status !== 200) throw new Error(`${cluster.name}: list webhooks: ${r.status}`);
  const list = r.body as {
    items: { metadata: { name: string }; webhooks: { clientConfig: { url: string; caBundle: string } }[] }[];
  };
  for (const mwc of list.items) {
    for (const wh of mwc.webhooks) {
      const u = new URL(wh.clientConfig.url);
      wh.clientConfig.url = `${injector.url}${u.pathname}`;
      wh.clientConfig.caBundle = injector.caBundle;
    }
    const put = await kubeRequest(cluster, 'PUT', `${MWC_PATH}/${mwc.metadata.name}`, mwc);
    if (put.status !== 200) throw new Error(`${cluster.name}: update ${mwc.metadata.name}: ${put.status}`);
  }
}
