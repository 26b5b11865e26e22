// The agent's step runners beside its units: gateway canary steps (ADR 0047) and ambient node waves (ADR 0051),
// each looked at again on its own timer while a step is unfinished.
import type { Clock } from '@meshwave/reconcile';
import type { Logger } from '@meshwave/telemetry';
import { DEFAULT_PROGRESS_DEADLINE_SECONDS } from '../core/command-ledger.js';
import type { ClusterAgentOptions } from './cluster-agent.js';
import { createGatewayStepper, type GatewayStepper } from './gateway-stepper.js';
import type { GatewayCanaryPort } from './gateway-canary.js';
import { createAmbientStepper, type AmbientStepper } from './ambient-stepper.js';
import type { UnitBook } from './unit-book.js';
import type { LiveRevisionTags } from './istio-webhook-watch.js';

/** How often unfinished gateway steps are looked at again (each look: two GETs and one pod list per gateway). */
const GATEWAY_PASS_MS = 500;
/** How often unfinished ambient steps are looked at again (each look: a list of nodes, DaemonSets and pods). */
const AMBIENT_PASS_MS = 500;

/** The gateway canary's reads and writes, when the agent was given the writes. */
const gatewayPort = (options: ClusterAgentOptions): GatewayCanaryPort | undefined => {
  const writes = options.gateways;
  if (writes === undefined) return undefined;
  const kube = options.kubernetes;
  return {
    ...writes,
    getWorkload: (ref) => kube.getWorkload(ref),
    listPods: (ns) => kube.listPods(ns),
    revisionTagTarget: async (tag) => (await kube.readIstioInstallation())?.tags[tag],
  };
};

/** A step's change (a gateway's, an ambient one's): its rollout's progress is due. */
const progressDue =
  (book: UnitBook, scheduleProgress: () => void) =>
  (rolloutId: string): void => {
    book.dirtyRollouts.add(rolloutId);
    scheduleProgress();
  };

/** The gateway steps of the desired states (ADR 0047); a step's change makes its rollout's progress due. */
const createGateways = (
  options: ClusterAgentOptions,
  { clock, log, book }: { clock: Clock; log: Logger; book: UnitBook },
  scheduleProgress: () => void,
): GatewayStepper =>
  createGatewayStepper({
    port: gatewayPort(options),
    clock,
    log,
    intervalMs: GATEWAY_PASS_MS,
    progressDeadlineSeconds: options.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS,
    onProgress: progressDue(book, scheduleProgress),
  });

/** What both step runners share; `liveTags`: the revision each revision tag points at now (ADR 0046, 0056). */
interface StepperParts {
  readonly clock: Clock;
  readonly log: Logger;
  readonly book: UnitBook;
  readonly liveTags: Pick<LiveRevisionTags, 'revisionOf'>;
}

/** The ambient steps of the desired states (ADR 0051), run like the gateway steps. */
const createAmbient = (
  options: ClusterAgentOptions,
  parts: StepperParts,
  scheduleProgress: () => void,
): AmbientStepper =>
  createAmbientStepper({
    ...parts,
    tagTarget: (name) => parts.liveTags.revisionOf(name),
    port: options.ambient,
    intervalMs: AMBIENT_PASS_MS,
    progressDeadlineSeconds: options.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS,
    onProgress: progressDue(parts.book, scheduleProgress),
  });

/** Both step runners of an agent; a step's change makes its rollout's progress due. */
export function createSteppers(
  options: ClusterAgentOptions,
  parts: StepperParts,
  scheduleProgress: () => void,
): { gateways: GatewayStepper; ambient: AmbientStepper } {
  return {
    gateways: createGateways(options, parts, scheduleProgress),
    ambient: createAmbient(options, parts, scheduleProgress),
  };
}
