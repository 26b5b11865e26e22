import { AmbientComponent, type AmbientStepCommand, type AmbientStepProgress } from '@meshwave/contracts';
import type { Clock } from '@meshwave/reconcile';
import type { Logger } from '@meshwave/telemetry';
import type { CommandLedger } from '../core/command-ledger.js';
import { ClusterAgentError } from '../errors.js';
import type { AmbientPort } from '../ports/ambient-port.js';
import { NodeState, nodeWavePass } from './node-wave.js';
import { ledgerSteps } from './ledger-steps.js';
import { waypointPass } from './waypoint-move.js';

/**
 * Runs the ambient steps the ledger's desired states name (ADR 0051): while any is unfinished, one pass over each
 * (in the order the desired state lists them) every `intervalMs`, none while its rollout is halted. A pass reads
 * everything it decides on from the apiserver, so a step re-run, or run by a restarted agent, writes nothing twice.
 */
export interface AmbientStepper {
  /** the ledger changed: steps it no longer names are dropped, new ones start at once */
  sync(ledger: CommandLedger): void;
  /** the state of the rollout's ambient steps, for its progress report; undefined when it names none */
  progressOf(rolloutId: string): AmbientStepProgress[] | undefined;
  stop(): void;
}

export interface AmbientStepperOptions {
  /** undefined: this agent was not given ambient writes; every step fails saying so */
  readonly port: AmbientPort | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  readonly intervalMs: number;
  /** a step's progress deadline when its rollout's command states none */
  readonly progressDeadlineSeconds: number;
  /** a step's state changed: its rollout's progress is due */
  readonly onProgress: (rolloutId: string) => void;
  /** the revision a revision tag points at now (the webhook watch's table); undefined for a revision */
  readonly tagTarget?: (name: string) => string | undefined;
}

interface Step {
  readonly rolloutId: string;
  readonly command: AmbientStepCommand;
  readonly startedAt: number;
  readonly deadlineMs: number;
  progress: AmbientStepProgress;
}

const progressOfStep = (step: string, p: Omit<AmbientStepProgress, 'step'>): AmbientStepProgress => ({
  step,
  ...p,
});

const finished = (s: Step): boolean => s.progress.state === 'converged' || s.progress.state === 'failed';

/** One pass of a step: its progress after the pass's writes. */
async function passOf(
  port: AmbientPort,
  c: AmbientStepCommand,
  now: number,
  tagTarget?: (name: string) => string | undefined,
): Promise<Omit<AmbientStepProgress, 'step'>> {
  if (c.component === AmbientComponent.Waypoints) {
    const moved = await waypointPass(port, c.waypoints, c.revision!, tagTarget);
    const waiting = moved
      .filter((w) => w.state !== 'converged')
      .map((w) => ({ name: `${w.namespace}/${w.name}`, state: w.state, ...(w.detail ? { detail: w.detail } : {}) }));
    const state = moved.some((w) => w.state === 'failed') ? 'failed' : waiting.length === 0 ? 'converged' : 'moving';
    return { state, waiting };
  }
  const nodes = await nodeWavePass(
    port,
    {
      component: c.component,
      version: c.version!,
      nodes: c.nodes,
      maxUnavailable: c.maxUnavailable,
      policy: c.drain,
      graceMs: c.graceSeconds * 1000,
    },
    now,
  );
  const waiting = nodes
    .filter((n) => n.state !== NodeState.Converged)
    .map((n) => ({ name: n.node, state: n.state, ...(n.detail ? { detail: n.detail } : {}) }));
  const state = nodes.some((n) => n.state === NodeState.Failed)
    ? 'failed'
    : waiting.length === 0
      ? 'converged'
      : nodes.some((n) => n.state === NodeState.Moving)
        ? 'moving'
        : 'pending';
  return { state, waiting };
}

export function createAmbientStepper(options: AmbientStepperOptions): AmbientStepper {
  const { clock, log } = options;
  const steps = new Map<string, Step>();
  const halted = new Set<string>();
  let stopped = false;
  let running = false;
  /** aborts the loop's current sleep: a sync brings new steps */
  let wake = new AbortController();

  const update = (s: Step, next: Omit<AmbientStepProgress, 'step'>): void => {
    const progress = progressOfStep(s.command.step, next);
    if (JSON.stringify(progress) === JSON.stringify(s.progress)) return;
    s.progress = progress;
    if (progress.state === 'failed') log.warn({ rolloutId: s.rolloutId, ambient: progress }, 'ambient step failed');
    options.onProgress(s.rolloutId);
  };

  const step = async (s: Step): Promise<void> => {
    if (options.port === undefined)
      return update(s, {
        state: 'failed',
        waiting: [],
        reason: 'this agent is not allowed to move ambient mode (ambient)',
      });
    const late = clock.now() - s.startedAt > s.deadlineMs;
    try {
      const next = await passOf(options.port, s.command, clock.now(), options.tagTarget);
      if (late && next.state !== 'converged' && next.state !== 'failed')
        update(s, { ...next, state: 'failed', reason: `not converged in ${s.deadlineMs / 1000}s` });
      else update(s, next);
    } catch (error) {
      // an outage or a conflict is retried at the next pass until the deadline; a refusal no retry changes (RBAC
      // without `ambient`, an invalid object) fails the step at once
      const reason = error instanceof Error ? error.message : String(error);
      const final = (error instanceof ClusterAgentError && !error.retryable) || late;
      update(s, { state: final ? 'failed' : s.progress.state, waiting: s.progress.waiting, reason });
    }
  };

  const loop = async (): Promise<void> => {
    running = true;
    while (!stopped) {
      const open = [...steps.values()].filter((s) => !finished(s) && !halted.has(s.rolloutId));
      for (const s of open) if (!stopped) await step(s);
      if (open.length === 0) break;
      await clock.sleep(options.intervalMs, wake.signal);
      if (wake.signal.aborted) wake = new AbortController();
    }
    running = false;
  };

  return {
    sync(ledger) {
      const wanted = new Set<string>();
      halted.clear();
      for (const { rolloutId, command, halted: isHalted, deadlineMs } of ledgerSteps(
        ledger,
        (d) => d.ambient,
        options.progressDeadlineSeconds,
      )) {
        if (isHalted) halted.add(rolloutId);
        const key = `${rolloutId}/${JSON.stringify(command)}`;
        wanted.add(key);
        if (steps.has(key)) continue;
        const progress = progressOfStep(command.step, { state: 'pending', waiting: [] });
        steps.set(key, { rolloutId, command, startedAt: clock.now(), deadlineMs, progress });
        options.onProgress(rolloutId);
      }
      for (const [key, s] of steps)
        if (!wanted.has(key)) {
          steps.delete(key);
          options.onProgress(s.rolloutId);
        }
      if (running) wake.abort();
      else if (!stopped) void loop();
    },
    progressOf(rolloutId) {
      const mine = [...steps.values()].filter((s) => s.rolloutId === rolloutId).map((s) => s.progress);
      return mine.length > 0 ? mine : undefined;
    },
    stop() {
      stopped = true;
      wake.abort();
    },
  };
}
