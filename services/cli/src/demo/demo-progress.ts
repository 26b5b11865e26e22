import type { RolloutStatus } from '@meshwave/contracts';
import type { CommandIo } from '../io.js';

/**
 * How far a rollout got, in the planner's words: its phase, the current wave, and the units and VM hosts on the
 * target revision against all of them (exclusions left out). The demo prints it as a line while it runs with
 * `-o json` (on stderr, so stdout keeps its one summary document), and in a summary cut short by a signal; the
 * fleet benchmark reads it to say where a run that timed out stood.
 */
export interface DemoProgressLine {
  readonly phase: string;
  /** index and name of the current wave, and its state */
  readonly wave: { readonly index: number; readonly name: string; readonly state: string } | undefined;
  readonly waves: number;
  readonly units: { readonly total: number; readonly onTarget: number };
  readonly vmHosts: { readonly total: number; readonly onTarget: number };
  /** units and hosts failed now, over all waves */
  readonly failed: number;
}

/** The prefix of a progress line on stderr: what follows it is one JSON object (`DemoProgressLine` + seconds). */
export const PROGRESS_PREFIX = 'meshwave demo progress: ';

/** The progress a status shows: sums over its waves (each wave's `onTarget` is the agents' injected revision). */
export function progressOf(status: RolloutStatus): DemoProgressLine {
  let units = 0;
  let unitsOnTarget = 0;
  let hosts = 0;
  let hostsOnTarget = 0;
  let failed = 0;
  for (const w of status.waveStatuses) {
    units += w.units.pending + w.units.moving + w.units.converged + w.units.failed;
    hosts += w.vmHosts.pending + w.vmHosts.upgrading + w.vmHosts.converged + w.vmHosts.failed;
    unitsOnTarget += w.onTarget?.units ?? 0;
    hostsOnTarget += w.onTarget?.vmHosts ?? 0;
    failed += w.units.failed + w.vmHosts.failed;
  }
  const wave = status.waveStatuses[status.wave];
  return {
    phase: status.phase,
    wave: wave === undefined ? undefined : { index: wave.index, name: wave.name, state: wave.state },
    waves: status.waves,
    units: { total: units, onTarget: unitsOnTarget },
    vmHosts: { total: hosts, onTarget: hostsOnTarget },
    failed,
  };
}

/** One progress line: the prefix, then the progress and the seconds since the rollout was applied, as JSON. */
export function formatProgressLine(status: RolloutStatus, secondsSinceApplied: number): string {
  return `${PROGRESS_PREFIX}${JSON.stringify({ seconds: Math.round(secondsSinceApplied), ...progressOf(status) })}`;
}

/** how often the demo prints a progress line with `-o json|yaml` */
const PROGRESS_EVERY_MS = 10_000;

/** With a summary for scripts: a progress line on stderr every 10 s (stdout keeps the one summary document). */
export function progressLines(
  io: Pick<CommandIo, 'stderr'>,
  progress: { readonly appliedAt?: number },
): (status: RolloutStatus) => void {
  let last = 0;
  return (status) => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    io.stderr(formatProgressLine(status, (now - (progress.appliedAt ?? now)) / 1000));
  };
}

/**
 * With --exit-when-done, SIGINT and SIGTERM stop the scenario at its next look: the demo then summarises where the
 * rollout stood, stops its fleet and exits, so `node --cpu-prof` writes its profile (a killed process writes none).
 * Without it, the signals are the exploration's end (finishDemo).
 */
export function stopOnSignal(exitWhenDone: boolean): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  if (!exitWhenDone) return { signal: controller.signal, dispose: () => undefined };
  const onSignal = (signal: NodeJS.Signals): void => controller.abort(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
