import { IstioLabel } from './revision-labels.js';
import {
  INJECTOR_WEBHOOK_PREFIX,
  REVISION_TAG_LABEL,
  REVISION_TAG_WEBHOOK_PREFIX,
  injectorRevisionOf,
} from './control-planes.js';

/**
 * A MutatingWebhookConfiguration as the apiserver returns it, reduced to what a revision tag move reads and
 * writes; every other field is carried over untouched.
 */
export interface WebhookConfigurationObject {
  readonly metadata: {
    readonly name: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly resourceVersion?: string;
    readonly [field: string]: unknown;
  };
  readonly webhooks?: readonly {
    readonly name: string;
    readonly clientConfig?: unknown;
    readonly [f: string]: unknown;
  }[];
  readonly [field: string]: unknown;
}

/** Istio names every injection webhook entry `…sidecar-injector.istio.io` (istioctl looks for this suffix). */
const INJECTION_WEBHOOK_SUFFIX = 'sidecar-injector.istio.io';

/** Where a tag move cannot go: the tag or the revision's own injection webhook is not registered. */
export type TagMoveBlocker = { readonly missing: string };

/**
 * The revision tag's configuration pointed at `revision`, as `istioctl tag set <tag> --revision <rev> --overwrite`
 * renders it: the tag's selectors (which name the tag, so labelled namespaces and pods keep matching) stay, every
 * webhook's clientConfig becomes the one of the revision's canonical injection webhook (its istiod service or URL
 * and CA bundle), and the `istio.io/rev` label names the revision. `unchanged` when it points there already, so a
 * second move writes nothing.
 */
export function retargetRevisionTag(
  tagConfig: WebhookConfigurationObject,
  canonical: WebhookConfigurationObject,
  revision: string,
):
  | { readonly unchanged: true }
  | { readonly unchanged: false; readonly next: WebhookConfigurationObject }
  | TagMoveBlocker {
  if (injectorRevisionOf({ name: canonical.metadata.name, labels: canonical.metadata.labels ?? {} }) !== revision)
    return { missing: `${canonical.metadata.name} is not the injection webhook of revision ${revision}` };
  const tag = tagConfig.metadata.labels?.[REVISION_TAG_LABEL];
  if (tag === undefined || tagConfig.metadata.name !== `${REVISION_TAG_WEBHOOK_PREFIX}${tag}`)
    return { missing: `${tagConfig.metadata.name} is not a revision tag's webhook configuration` };
  const injection = canonical.webhooks?.find((w) => w.name.endsWith(INJECTION_WEBHOOK_SUFFIX));
  if (injection?.clientConfig === undefined)
    return { missing: `${canonical.metadata.name} has no ${INJECTION_WEBHOOK_SUFFIX} webhook` };
  const clientConfig = injection.clientConfig;
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const pointed =
    tagConfig.metadata.labels?.[IstioLabel.Revision] === revision &&
    (tagConfig.webhooks ?? []).every((w) => same(w.clientConfig, clientConfig));
  if (pointed) return { unchanged: true };
  return {
    unchanged: false,
    next: {
      ...tagConfig,
      metadata: { ...tagConfig.metadata, labels: { ...tagConfig.metadata.labels, [IstioLabel.Revision]: revision } },
      webhooks: (tagConfig.webhooks ?? []).map((w) => ({ ...w, clientConfig })),
    },
  };
}

/** The name of a revision's own injection webhook configuration (`istio-sidecar-injector` for `default`). */
export const injectorWebhookName = (revision: string): string =>
  revision === 'default' ? INJECTOR_WEBHOOK_PREFIX : `${INJECTOR_WEBHOOK_PREFIX}-${revision}`;
