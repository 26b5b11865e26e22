import {
  ISTIO_SYSTEM_NAMESPACE,
  REVISION_TAG_WEBHOOK_PREFIX,
  injectorWebhookName,
  retargetRevisionTag,
  type WebhookConfigurationObject,
} from '@meshwave/istio';
import type { KubernetesPort } from '../ports/kubernetes-port.js';
import type { ApiCaller } from './kubernetes-http.js';
import { controllerOf, toIstioInstallation } from './kubernetes-views.js';

/**
 * What the agent reads and writes of Istio's installation and of what runs its revisions: the control planes and
 * tags, a tag move's one write, and the CronJobs behind Jobs.
 */
export function istioOperations({
  call,
  getOrUndefined,
  list,
}: ApiCaller): Pick<KubernetesPort, 'readIstioInstallation' | 'pointRevisionTag' | 'readCronJobs'> {
  return {
    async readIstioInstallation() {
      // Few objects either way (a Deployment per revision and gateway, a webhook per revision and tag).
      const [deployments, webhooks] = await Promise.all([
        list(`/apis/apps/v1/namespaces/${ISTIO_SYSTEM_NAMESPACE}/deployments`),
        list('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations'),
      ]);
      return toIstioInstallation(deployments.items, webhooks.items);
    },

    async pointRevisionTag(tag, revision) {
      const path = (name: string): string =>
        `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(name)}`;
      const tagName = `${REVISION_TAG_WEBHOOK_PREFIX}${tag}`;
      const [tagConfig, canonical] = await Promise.all([
        getOrUndefined<WebhookConfigurationObject>('get', path(tagName)),
        getOrUndefined<WebhookConfigurationObject>('get', path(injectorWebhookName(revision))),
      ]);
      if (tagConfig === undefined) return { outcome: 'missing', detail: `revision tag ${tag} is not registered` };
      if (canonical === undefined)
        return { outcome: 'missing', detail: `the injection webhook of revision ${revision} is not registered` };
      const next = retargetRevisionTag(tagConfig, canonical, revision);
      if ('missing' in next) return { outcome: 'missing', detail: next.missing };
      if (next.unchanged) return { outcome: 'unchanged' };
      // a replace carrying the resourceVersion it read: 409 when someone else moved the tag meanwhile
      await call('update', 'PUT', path(tagName), next.next);
      return { outcome: 'updated' };
    },

    async readCronJobs() {
      const [jobs, cronJobs] = await Promise.all([list('/apis/batch/v1/jobs'), list('/apis/batch/v1/cronjobs')]);
      const ownerOfJob = new Map<string, string>();
      for (const job of jobs.items) {
        const owner = controllerOf(job);
        if (owner?.kind === 'CronJob')
          ownerOfJob.set(`${job.metadata?.namespace ?? ''}/${job.metadata?.name ?? ''}`, owner.name);
      }
      const templates = cronJobs.items.flatMap((c) => {
        const spec = c.spec as {
          jobTemplate?: { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } };
        };
        const revision = spec.jobTemplate?.spec?.template?.metadata?.labels?.['istio.io/rev'];
        return revision === undefined
          ? []
          : [{ namespace: c.metadata?.namespace ?? '', name: c.metadata?.name ?? '', revision }];
      });
      return { ownerOfJob, templates };
    },
  };
}
