// Faults a drill injects into the shared servers. Each one is undone in `finally`, whatever happens, so the
// server is up and healthy for the next test; run them only while holding the environment lock
// (`flock /tmp/meshwave-env.lock …`, as every integration and e2e run does).
import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { webhookConfiguration } from '../env/injector/registration.ts';
import { envCli, loadTestEnv } from './env.ts';
import { NEW, type FleetCluster } from './fleet-processes.ts';

/** The pod-template label that makes a Deployment's pods crash-loop once they run NEW (see `withCrashOnNew`). */
export const CRASH_LABEL = 'meshwave.test/crash-on-new';

/**
 * While `fn` runs, pods of `cluster` labelled `CRASH_LABEL=yes` that select NEW get NEW's sidecar marked to
 * crash-loop (the kwok Stage of test/env/kwok): a webhook configuration of our own, named to run before the
 * revision's own (mutating configurations are called in name order; the double leaves an injected pod as is).
 */
export async function withCrashOnNew<T>(cluster: FleetCluster, fn: () => Promise<T>): Promise<T> {
  const injector = loadTestEnv().injector;
  if (!injector) throw new Error('the test environment has no injector double: run `npm run env:up`');
  const base = webhookConfiguration(injector, { revision: NEW, fault: 'crashloop' });
  const name = `aaa-meshwave-drill-crash-${cluster.name}`;
  const objectHook = (base.webhooks as { name: string; objectSelector: { matchExpressions: unknown[] } }[]).find(
    (w) => w.name === 'rev.object.sidecar-injector.istio.io',
  )!;
  const body = {
    ...base,
    metadata: { ...base.metadata, name },
    webhooks: [
      {
        ...objectHook,
        objectSelector: {
          matchExpressions: [
            ...objectHook.objectSelector.matchExpressions,
            { key: CRASH_LABEL, operator: 'In', values: ['yes'] },
          ],
        },
      },
    ],
  } as unknown as V1MutatingWebhookConfiguration;
  await cluster.admin.admission.createMutatingWebhookConfiguration({ body });
  try {
    return await fn();
  } finally {
    await cluster.admin.admission.deleteMutatingWebhookConfiguration({ name });
  }
}

/** Stops `server` (kafka, redis, kind-N) for the duration of `fn`, and starts it again in any case. */
export async function withServerStopped<T>(server: string, fn: () => Promise<T>): Promise<T> {
  await envCli('stop', server);
  try {
    return await fn();
  } finally {
    await envCli('start', server);
  }
}
