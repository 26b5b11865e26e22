// The cluster-agent chart's admission webhook registration, on the test apiservers: the chart's rendered
// MutatingWebhookConfiguration (rules, failurePolicy Ignore, timeouts, reinvocation, caBundle), pointed at an agent
// that listens on 127.0.0.1 with a serving certificate from a test CA (ADR 0042 says what differs from production).
import fs from 'node:fs';
import path from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { newServingCert } from './certificates.ts';
import { loadHelmEnv, type ClusterEnv } from './env.ts';
import { renderChart, type Manifest } from './helm-chart.ts';
import { freePort } from './ports.ts';

/**
 * The chart's rendered MutatingWebhookConfiguration, changed only where this machine differs from a cluster:
 * - `clientConfig.url` (`https://127.0.0.1:<port><the service's path>`) instead of `clientConfig.service`: the
 *   test apiservers have no pod network and no aggregator routing, so a Service would resolve to a ClusterIP
 *   nothing listens on; the agent listens on 127.0.0.1 as the chart's container would in its pod;
 * - its name carries `suffix`, and each webhook's namespaceSelector also requires one of `namespaces`: the
 *   apiservers are shared with other tests, whose pods this agent must not see.
 * Everything else (rules, objectSelector, failurePolicy, timeouts, reinvocation, caBundle) is the chart's.
 */
export function chartWebhookRegistration(
  manifests: readonly Manifest[],
  target: { readonly port: number; readonly namespaces: readonly string[]; readonly suffix: string },
): k8s.V1MutatingWebhookConfiguration {
  const rendered = manifests.find((m) => m.kind === 'MutatingWebhookConfiguration');
  if (rendered === undefined) throw new Error('the chart rendered no MutatingWebhookConfiguration');
  const cfg = structuredClone(rendered) as unknown as k8s.V1MutatingWebhookConfiguration;
  cfg.metadata = { ...cfg.metadata, name: `${cfg.metadata!.name!}-${target.suffix}` };
  for (const w of cfg.webhooks ?? []) {
    const { service, caBundle } = w.clientConfig;
    if (service === undefined) throw new Error(`webhook ${w.name}: the chart registers no Service`);
    w.clientConfig = { url: `https://127.0.0.1:${target.port}${service.path ?? ''}`, caBundle };
    w.namespaceSelector!.matchExpressions!.push({
      key: 'kubernetes.io/metadata.name',
      operator: 'In',
      values: [...target.namespaces],
    });
  }
  return cfg;
}

/** One agent's webhook as a fleet runs it: where it listens, its certificate files, and the registration. */
export interface AgentWebhook {
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  /** the variables that make the agent serve it (`--webhook-port`, `--webhook-cert`, `--webhook-key`) */
  readonly env: Readonly<Record<string, string>>;
  /** the MutatingWebhookConfiguration's name on the apiserver */
  readonly name: string;
  /** removes the registration */
  remove(): Promise<void>;
}

/**
 * Registers the cluster-agent chart's webhook (release `release`) on `cluster` for `namespaces`, served at
 * 127.0.0.1 on a free port with a fresh serving certificate written to `dir` (the chart given that certificate's CA
 * as `webhook.caBundle`).
 */
export async function registerAgentWebhook(
  cluster: ClusterEnv,
  admission: k8s.AdmissionregistrationV1Api,
  release: string,
  namespaces: readonly string[],
  dir: string,
): Promise<AgentWebhook> {
  const o = { release, port: await freePort(), namespaces, dir };
  const serving = newServingCert();
  const values = {
    clusterName: o.release,
    'kafka.brokers': '{kafka:9092}',
    'redis.url': 'redis://redis:6379',
    'signing.activeKeyId': 'default',
    'webhook.port': String(o.port),
    'webhook.certSecret': `${o.release}-webhook-tls`,
    'webhook.caBundle': serving.caBundle,
  };
  const manifests = renderChart(
    loadHelmEnv(),
    cluster,
    'meshwave-cluster-agent',
    Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
    { name: o.release, namespace: o.release },
  );
  const body = chartWebhookRegistration(manifests, { port: o.port, namespaces: o.namespaces, suffix: o.release });
  fs.mkdirSync(o.dir, { recursive: true });
  const certFile = path.join(o.dir, `${o.release}-webhook.crt`);
  const keyFile = path.join(o.dir, `${o.release}-webhook.key`);
  fs.writeFileSync(certFile, serving.cert);
  fs.writeFileSync(keyFile, serving.key, { mode: 0o600 });
  await admission.createMutatingWebhookConfiguration({ body });
  const name = body.metadata!.name!;
  return {
    port: o.port,
    certFile,
    keyFile,
    env: {
      MESHWAVE_WEBHOOK_PORT: String(o.port),
      MESHWAVE_WEBHOOK_CERT: certFile,
      MESHWAVE_WEBHOOK_KEY: keyFile,
    },
    name,
    remove: async () => {
      await admission.deleteMutatingWebhookConfiguration({ name }).catch(() => undefined);
    },
  };
}
