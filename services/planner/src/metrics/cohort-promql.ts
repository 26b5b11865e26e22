// The PromQL of a metric gate's cohort (ADR 0074): a cohort of workloads is asked in queries of bounded size, each
// selecting exactly its workloads per cluster and namespace, so a wave reads its own series and not its namespaces'.
import type { MetricTarget } from '../core/metric-samples.js';

/** The three instant queries of one part of a cohort. */
export interface CohortPromql {
  readonly requests: string;
  readonly errors: string;
  readonly p99: string;
}

/**
 * At most this many workload names in one query: a wave of more is asked in several queries (ADR 0074). Kept at
 * most 500 as before, so every query stays well inside what Prometheus parses and matches quickly.
 */
export const MAX_NAMED_WORKLOADS = 500;
/**
 * At most this many characters of label matchers in one query (names are caller input, a Kubernetes name up to 253
 * characters): a query's size is bounded by this whatever the names are, not only by their count.
 */
export const MAX_SELECTOR_CHARS = 32_768;

/** A regex alternative matching exactly `value` (RE2 syntax), as a PromQL string body. */
function literal(value: string): string {
  return value.replace(/[\\.^$|?*+()[\]{}]/g, '\\$&').replace(/[\\"]/g, '\\$&');
}

function alternatives(values: Iterable<string>): string {
  return [...new Set(values)].sort().map(literal).join('|');
}

/** A PromQL string body matching exactly `value` (an `=` matcher). */
function quoted(value: string): string {
  return value.replace(/[\\"]/g, '\\$&');
}

/** `label="v"` for one value, `label=~"a|b"` for several (each exactly). */
function matcher(label: string, values: readonly string[]): string {
  return values.length === 1 ? `${label}="${quoted(values[0]!)}"` : `${label}=~"${alternatives(values)}"`;
}

/**
 * The workloads of one cluster (when the backend has a cluster label) and namespace: `names`, or the whole namespace
 * (`names` undefined) when a unit of the cohort is the namespace itself.
 */
interface NamespaceCohort {
  readonly cluster: string | undefined;
  readonly namespace: string;
  names: Set<string> | undefined;
}

function namespaceCohortsOf(targets: readonly MetricTarget[], clusterLabel: string | undefined): NamespaceCohort[] {
  const byKey = new Map<string, NamespaceCohort>();
  for (const t of targets) {
    const cluster = clusterLabel ? t.cluster : undefined;
    const key = `${cluster ?? ''}/${t.namespace}`;
    let c = byKey.get(key);
    if (c === undefined) byKey.set(key, (c = { cluster, namespace: t.namespace, names: new Set() }));
    if (t.name === undefined) c.names = undefined;
    else c.names?.add(t.name);
  }
  return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
}

/** One selector's matchers: the reporter, the cluster, the namespace and (when named) the workloads. */
function selectorOf(
  c: NamespaceCohort,
  names: readonly string[] | undefined,
  clusterLabel: string | undefined,
): string {
  return [
    'reporter="destination"',
    ...(clusterLabel && c.cluster !== undefined ? [matcher(clusterLabel, [c.cluster])] : []),
    matcher('destination_workload_namespace', [c.namespace]),
    ...(names !== undefined ? [matcher('destination_workload', names)] : []),
  ].join(',');
}

/**
 * The selectors of a cohort, cut into parts of at most MAX_NAMED_WORKLOADS names and MAX_SELECTOR_CHARS characters
 * (a namespace's names split across parts when it has more). Every workload is in exactly one part, so adding up the
 * parts' answers counts each series once.
 */
function selectorPartsOf(targets: readonly MetricTarget[], clusterLabel: string | undefined): string[][] {
  const parts: string[][] = [];
  let part: string[] = [];
  let names = 0;
  let chars = 0;
  const close = (): void => {
    if (part.length > 0) parts.push(part);
    part = [];
    names = 0;
    chars = 0;
  };
  const add = (selector: string, count: number): void => {
    part.push(selector);
    names += count;
    chars += selector.length;
  };
  for (const c of namespaceCohortsOf(targets, clusterLabel)) {
    // the matchers around the names, and each name's share (escaped, with its `|`)
    const head = selectorOf(c, [], clusterLabel).length;
    if (c.names === undefined) {
      if (names + 1 > MAX_NAMED_WORKLOADS || chars + head > MAX_SELECTOR_CHARS) close();
      add(selectorOf(c, undefined, clusterLabel), 1);
      continue;
    }
    let piece: string[] = [];
    let pieceChars = head;
    for (const name of [...c.names].sort()) {
      const cost = literal(name).length + 1;
      if (names + piece.length >= MAX_NAMED_WORKLOADS || chars + pieceChars + cost > MAX_SELECTOR_CHARS) {
        if (piece.length > 0) add(selectorOf(c, piece, clusterLabel), piece.length);
        close();
        piece = [];
        pieceChars = head;
      }
      piece.push(name);
      pieceChars += cost;
    }
    if (piece.length > 0) add(selectorOf(c, piece, clusterLabel), piece.length);
  }
  close();
  return parts;
}

const BY = ['destination_workload_namespace', 'destination_workload'];

function queriesOf(selectors: readonly string[], by: string, range: string): CohortPromql {
  // the parts' series differ in cluster or namespace (or workload): `or` is their union
  const union = (metric: string, fn: string, extra = ''): string =>
    selectors.map((s) => `${fn}(${metric}{${s}${extra}}${range})`).join(' or ');
  return {
    requests: `sum by (${by}) (${union('istio_requests_total', 'increase')})`,
    // only the workloads that answered 5xx in the window: a workload without any has 0 errors either way, and a
    // fleet's cohort of 81,000 workloads would otherwise come back as 81,000 zeros to parse (issue 15)
    errors: `sum by (${by}) (${union('istio_requests_total', 'increase', ',response_code=~"5.."')}) > 0`,
    p99: `histogram_quantile(0.99, sum by (${by},le) (${union('istio_request_duration_milliseconds_bucket', 'rate')}))`,
  };
}

/**
 * The queries of a cohort of workloads (pure): one part per at most MAX_NAMED_WORKLOADS workloads, each selecting
 * exactly its workloads per cluster and namespace (a namespace unit: its whole namespace).
 */
export function workloadPromqlOf(
  targets: readonly MetricTarget[],
  windowSeconds: number,
  clusterLabel?: string,
): CohortPromql[] {
  const by = [...(clusterLabel ? [clusterLabel] : []), ...BY].join(',');
  return selectorPartsOf(targets, clusterLabel).map((part) => queriesOf(part, by, `[${windowSeconds}s]`));
}

/**
 * The label Prometheus's pod scrape gives a pod's `istio.io/rev` (a `labelmap` of the pod's labels, as Istio's and
 * the Prometheus chart's scrape configurations do): a gateway's requests are told apart by the revision of the pods
 * that served them (ADR 0050).
 */
export const GATEWAY_REVISION_LABEL = 'istio_io_rev';
/** The label the same scrape gives the pod's name: a gateway's p99 is compared pod by pod (ADR 0050). */
export const GATEWAY_POD_LABEL = 'pod';

/**
 * A cohort of gateways (a few per cluster, one query): their own requests (a gateway reports the requests it forwards
 * as the source), served by pods on the cohort's revisions, whichever of each gateway's Deployments (the gateway, its
 * canary copy) ran them; per pod, as the statistical test compares the p99 of each new pod with each old one's.
 */
export function gatewayPromqlOf(
  targets: readonly MetricTarget[],
  windowSeconds: number,
  clusterLabel?: string,
): CohortPromql {
  const selector = [
    'reporter="source"',
    `source_workload_namespace=~"${alternatives(targets.map((t) => t.namespace))}"`,
    `source_workload=~"${alternatives(targets.flatMap((t) => t.gateway?.workloads ?? []))}"`,
    `${GATEWAY_REVISION_LABEL}=~"${alternatives(targets.map((t) => t.gateway?.revision ?? ''))}"`,
    ...(clusterLabel ? [`${clusterLabel}=~"${alternatives(targets.map((t) => t.cluster))}"`] : []),
  ].join(',');
  const by = [
    ...(clusterLabel ? [clusterLabel] : []),
    'source_workload_namespace',
    'source_workload',
    GATEWAY_POD_LABEL,
  ].join(',');
  return queriesOf([selector], by, `[${windowSeconds}s]`);
}

/**
 * PromQL of a cohort's three instant queries, in parts of bounded size (one for a cohort of gateways, or of at most
 * MAX_NAMED_WORKLOADS workloads in few namespaces). Exported for the ADR's examples and tests.
 */
export function promqlOf(
  targets: readonly MetricTarget[],
  windowSeconds: number,
  clusterLabel?: string,
): CohortPromql[] {
  if (targets.length === 0) return [];
  return targets.some((t) => t.gateway !== undefined)
    ? [gatewayPromqlOf(targets, windowSeconds, clusterLabel)]
    : workloadPromqlOf(targets, windowSeconds, clusterLabel);
}
