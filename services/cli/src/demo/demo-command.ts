import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import {
  ApiErrorCode,
  InvalidInputError,
  formatProblem,
  parseDocumentText,
  type Plan,
  type RolloutStatus,
} from '@meshwave/contracts';
import { CliError } from '../errors.js';
import { ExitCode, type CommandIo, type Terminal } from '../io.js';
import { PlannerClient, PlannerClientError } from '../adapters/planner-client.js';
import { readRolloutPlan } from '../adapters/rollout-plan-reader.js';
import { droppedCause, retryDropped } from './dropped-requests.js';
import { addDeprecatedAlias, addExamples, OutputFormat, type CliContext } from '../commands/cli-options.js';
import { LiveView } from '../commands/live-view.js';
import { rolloutStatusLines } from '../commands/progress-view.js';
import { paintFor } from '../commands/terminal-color.js';
import { parseUnitKey } from '../commands/unit-key.js';
import { DemoFleetConfig } from './fleet-config.js';
import { demoRolloutSpec } from './demo-rollout-spec.js';
import { DEMO_TOKEN, startEmbeddedFleet, type EmbeddedFleet } from './embedded-fleet.js';
import { startProcessStats } from './process-stats.js';
import { summarize, type DemoSummary } from './demo-summary.js';
import { progressLines, stopOnSignal } from './demo-progress.js';

export { rolloutOutcome, type DemoSummary } from './demo-summary.js';
export { demoRolloutSpec };

const EXAMPLES = new URL('../../../../examples/', import.meta.url);

export interface DemoOptions {
  readonly fleetFile?: string;
  readonly rolloutFile?: string;
  /** where to write the plan the planner returned, as JSON (the fleet benchmark computes its bound from it) */
  readonly planFile?: string;
  readonly port: number;
  readonly exitWhenDone: boolean;
  /** the summary alone, as one JSON or YAML document (for scripts); absent: the progress for people */
  readonly summary?: 'json' | 'yaml';
  /** redraw the progress in place on this terminal; undefined: append plain lines (a pipe, a file, `--no-tty`) */
  readonly terminal?: Terminal;
  /** when the demo gives up (the scenario takes under two minutes on the default fleet) */
  readonly timeoutSeconds: number;
  /** called once the fleet is up, before the rollout is applied (tests attach their observers here) */
  readonly onFleetStarted?: (fleet: EmbeddedFleet) => void;
}

/** What a demo run ends with. */
export interface DemoResult {
  readonly exit: number;
  readonly summary?: DemoSummary;
  readonly status?: RolloutStatus;
  readonly plan?: Plan;
}

/**
 * What the scenario works with: the planner's API, the fleet's size and timing, where to say what happens. The
 * fleet benchmark plays it against a planner process too.
 */
export interface DemoScenarioRun {
  readonly options: Pick<DemoOptions, 'summary' | 'timeoutSeconds' | 'planFile' | 'terminal'>;
  readonly io: Pick<CommandIo, 'stdout' | 'env'>;
  readonly fleetConfig: DemoFleetConfig;
  readonly client: PlannerClient;
  /** what the operator did, kept above the progress (nothing with --json) */
  readonly say: (text: string) => void;
  /** the banner and the progress: redrawn in place on a terminal, plain lines elsewhere */
  readonly view: LiveView;
  /** aborted: the scenario stops at its next look (`DemoStoppedError`), whatever the rollout's phase */
  readonly stop?: AbortSignal;
  /** each status the scenario reads, as it reads it */
  readonly onStatus?: (status: RolloutStatus) => void;
}

/** The scenario was stopped (a signal) before the rollout ended: the demo summarises where it stood. */
export class DemoStoppedError extends Error {
  constructor(readonly signal: string) {
    super(`stopped by ${signal} before the rollout ended`);
    this.name = 'DemoStoppedError';
  }
}

/** What one demo run works with, passed to the steps of the scenario. */
interface DemoRun extends DemoScenarioRun {
  readonly options: DemoOptions;
  readonly io: CommandIo;
  readonly fleet: EmbeddedFleet;
}

/** What the scenario has seen so far: kept when it fails halfway, so the result still carries it. */
export interface DemoProgress {
  status?: RolloutStatus;
  plan?: Plan;
  /** when the rollout was applied (ms since the epoch) */
  appliedAt?: number;
}

/** `meshwave demo` / `npm start`. */
export async function runDemo(options: DemoOptions, io: CommandIo): Promise<DemoResult> {
  const startedAt = Date.now();
  const stats = startProcessStats();
  const view = new LiveView(options.summary !== undefined ? () => undefined : io.stdout, options.terminal);
  const say = (text: string): void => view.note(text);
  const inputs = await readDemoInputs(options, io);
  if ('exit' in inputs) return inputs;
  const { fleetConfig, exampleText } = inputs;

  let fleet: EmbeddedFleet;
  try {
    fleet = await startEmbeddedFleet({ fleet: fleetConfig, port: options.port });
  } catch (err) {
    // startEmbeddedFleet stopped what it had started, so returning lets the process exit non-zero; any failed
    // start is a failed demo (not an internal error to rethrow past the stopped fleet).
    io.stderr(
      `meshwave demo: ${err instanceof CliError ? err.message : `the embedded fleet did not start: ${String(err)}`}`,
    );
    return { exit: ExitCode.Failure };
  }
  options.onFleetStarted?.(fleet);
  // The planner is in this process, never out of reach: a request waits as long as the demo does. A 30 s request
  // timeout would measure only this process's own load (a status read walks 100,000 units while the fleet runs).
  const client = new PlannerClient(fleet.url, DEMO_TOKEN, options.timeoutSeconds * 1000);
  const progress: DemoProgress = {};
  const stopping = stopOnSignal(options.exitWhenDone);
  const run: DemoRun = {
    options,
    io,
    fleetConfig,
    fleet,
    client,
    say,
    view,
    stop: stopping.signal,
    ...(options.summary === undefined ? {} : { onStatus: progressLines(io, progress) }),
  };
  announceFleet(run);

  let exit: number = ExitCode.Failure;
  let summary: DemoSummary | undefined;
  try {
    let ended: { status: RolloutStatus; plan: Plan; stoppedBy?: string };
    try {
      ended = await playScenario(run, exampleText, progress);
    } catch (err) {
      // stopped by a signal: the summary says where the rollout stood (the benchmark's deadline, Ctrl-C)
      if (!(err instanceof DemoStoppedError) || !progress.status || !progress.plan) throw err;
      ended = { status: progress.status, plan: progress.plan, stoppedBy: err.signal };
    }
    summary = await summarize(fleet, { ...ended, startedAt, appliedAt: progress.appliedAt ?? startedAt }, stats);
    exit =
      summary.stoppedBy === undefined &&
      summary.phase === 'Completed' &&
      summary.units.onTarget === summary.units.total &&
      summary.vmHosts.onTarget === summary.vmHosts.total &&
      summary.nodeAgents.onTarget === summary.nodeAgents.total &&
      summary.nodeAgents.cordonedNodes === 0
        ? ExitCode.Ok
        : ExitCode.Failure;
    if (options.summary === 'json') io.stdout(JSON.stringify(summary));
    else if (options.summary === 'yaml') io.stdout(stringify(summary));
    else say(`demo summary: ${JSON.stringify(summary)}`);
  } catch (err) {
    io.stderr(`meshwave demo: ${(err as Error).message}`);
    exit = ExitCode.Failure;
  } finally {
    stopping.dispose();
  }

  const result: DemoResult = {
    exit,
    ...(summary ? { summary } : {}),
    ...(progress.status ? { status: progress.status } : {}),
    ...(progress.plan ? { plan: progress.plan } : {}),
  };
  return finishDemo(run, result);
}

/** The fleet file and the example rollout, or the exit of a demo whose input is invalid. */
async function readDemoInputs(
  options: DemoOptions,
  io: CommandIo,
): Promise<{ fleetConfig: DemoFleetConfig; exampleText: string } | DemoResult> {
  try {
    const fleetPath = options.fleetFile ?? fileURLToPath(new URL('demo-fleet.yml', EXAMPLES));
    const fleetConfig = parseDocumentText(DemoFleetConfig, await io.readFile(fleetPath), fleetPath);
    const exampleText = await io.readFile(options.rolloutFile ?? fileURLToPath(new URL('rollouts.yml', EXAMPLES)));
    return { fleetConfig, exampleText };
  } catch (err) {
    if (err instanceof InvalidInputError) {
      io.stderr(err.problems.map(formatProblem).join('\n'));
      return { exit: ExitCode.InvalidInput };
    }
    throw err;
  }
}

/** The banner: kept on top of the redrawn progress on a terminal, so the URL with its token stays in sight. */
function announceFleet({ fleetConfig, fleet, view }: DemoRun): void {
  const workloads = fleetConfig.clusters.reduce((n, c) => n + c.namespaces.length * c.workloadsPerNamespace, 0);
  const hosts = fleetConfig.vmGroups.reduce((n, g) => n + g.hosts, 0);
  const nodes = fleetConfig.ambient.reduce((n, a) => n + a.nodes, 0);
  view.setHeader([
    `meshwave demo: ${fleetConfig.clusters.length} simulated clusters (${workloads} workloads), ${fleetConfig.vmGroups.length} VM groups (${hosts} hosts)${nodes > 0 ? `, ${nodes} nodes in ambient mode` : ''}`,
    `  dashboard  ${fleet.url}/#token=${DEMO_TOKEN}`,
    `  CLI        export MESHWAVE_PLANNER_URL=${fleet.url}`,
    `             export MESHWAVE_TOKEN=${DEMO_TOKEN}; npx meshwave status`,
    '',
  ]);
}

/**
 * Applies the demo rollout once every agent has reported, then follows it to its end, acting as the operator
 * (approvals, excluding what fails, resuming). Records what it sees in `progress` as it goes.
 */
export async function playScenario(
  run: DemoScenarioRun,
  exampleText: string,
  progress: DemoProgress,
): Promise<{ status: RolloutStatus; plan: Plan }> {
  const { options, io, fleetConfig, client, say, view } = run;
  // The planner learns the clusters from their agents' inventory reports.
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  const stopped = (): void => {
    if (run.stop?.aborted) throw new DemoStoppedError(String(run.stop.reason));
  };
  // Reads are sent again when the planner drops them (a connection closed under it); writes are not: a dropped
  // action is decided again at the next look, from the state the planner then shows.
  const read = <T>(what: string, send: () => Promise<T>): Promise<T> => retryDropped(what, send, { say });
  while ((await read('GET /v1/fleet', () => client.fleet())).clusters.length < fleetConfig.clusters.length) {
    if (Date.now() > deadline) throw new Error('the agents did not report their inventory in time');
    stopped();
    await sleep(100);
  }
  const spec = demoRolloutSpec(exampleText, fleetConfig.timing.soakSeconds, new Date());
  const created = await client.createRollout(stringify(spec));
  progress.appliedAt = Date.now();
  say(
    `applied rollout ${created.id}: ${created.plan.waves.map((w) => `${w.name} (${w.counts.workloads} units${w.counts.vmHosts ? `, ${w.counts.vmHosts} VM hosts` : ''})`).join(' → ')}`,
  );
  // every unit and host, for the ground truth at the end and the plan file: read in pages (ADR 0039)
  const plan = await read("a page of the rollout's plan", () => readRolloutPlan(client, created.id));
  progress.plan = plan;
  if (options.planFile !== undefined) await writeFile(options.planFile, JSON.stringify(plan));

  const excludedOnce = new Set<string>();
  const paint = paintFor(io, options.terminal !== undefined);
  const look = (): Promise<RolloutStatus> => read(`GET /v1/rollouts/${created.id}`, () => client.rollout(created.id));
  progress.status = await look();
  for (;;) {
    const status = await look();
    progress.status = status;
    run.onStatus?.(status);
    view.update(rolloutStatusLines(status, { transitions: 3, paint }));
    if (['Completed', 'RolledBack', 'Failed'].includes(status.phase)) return { status, plan };
    stopped();
    if (Date.now() > deadline)
      throw new Error(`the rollout did not finish within ${options.timeoutSeconds}s (phase ${status.phase})`);
    try {
      await actAsOperator(run, status, excludedOnce);
    } catch (err) {
      const dropped = droppedCause(err);
      if (dropped !== undefined)
        // the action may or may not have been taken: the next look shows which, and acts again only if not
        say(`demo operator: the planner dropped an action (${dropped}); deciding again at the next look`);
      else if (betweenLeaders(err))
        // A loop stalled past its lease (seconds, at 100,000 units in one process) lets the planner's lease lapse
        // until it takes it again: the action is not lost, the next look sees the same state and acts again.
        say('demo operator: the planner is between leaders (NOT_LEADER); acting again at the next look');
      else throw err;
    }
    await sleep(LOOK_INTERVAL_MS);
  }
}

/**
 * How often the demo looks at the rollout: as `meshwave status --watch` does by default. Each look during a big wave
 * builds the wave statuses again (reports changed since the last); at 300 ms the bench's looks took 14% of the
 * planner's CPU in fleet (b)'s process mode (issue 15).
 */
const LOOK_INTERVAL_MS = 1000;

/** The planner answered that no replica leads now: a lease that lapsed and is being taken again. */
function betweenLeaders(err: unknown): boolean {
  return err instanceof PlannerClientError && err.status === 503 && err.body?.code === ApiErrorCode.NotLeader;
}

/** What the demo's operator does on each look: approve a waiting wave; on a halt, exclude what failed and resume. */
async function actAsOperator(
  { client, say }: DemoScenarioRun,
  status: RolloutStatus,
  excludedOnce: Set<string>,
): Promise<void> {
  const wave = status.waveStatuses[status.wave];
  if (status.phase === 'Running' && wave?.approval && !wave.approved) {
    await client.act(status.id, 'approve', `demo: the operator approves wave "${wave.name}"`);
    say(`demo operator: approved wave "${wave.name}"`);
  }
  if (status.phase === 'Halted') {
    // The gate failed and the wave was failed back: exclude what failed, as an operator would, and resume.
    const failed = [
      ...new Set(status.gateVerdicts.filter((v) => v.outcome === 'Failed').flatMap((v) => v.failed)),
    ].filter((u) => !u.startsWith('vmgroup/') && !excludedOnce.has(u));
    const units = failed.map(parseUnitKey).filter((u) => u !== undefined);
    if (units.length > 0) {
      await client.exclude(status.id, units, 'demo: crash-looping on the new revision; the owning team will fix it');
      for (const u of failed) excludedOnce.add(u);
      say(`demo operator: excluded ${failed.join(', ')} (recorded in the audit log)`);
    }
    await client.act(status.id, 'resume', 'demo: resume after excluding the failing workload');
    say('demo operator: resumed');
  }
}

/** With --exit-when-done the fleet stops now; otherwise it stays up for exploration until Ctrl-C. */
async function finishDemo({ options, fleet, say }: DemoRun, result: DemoResult): Promise<DemoResult> {
  if (options.exitWhenDone) {
    await fleet.close();
    return result;
  }
  say(
    `the fleet stays up for exploration: dashboard ${fleet.url}/#token=${DEMO_TOKEN}, CLI npx meshwave fleet --planner ${fleet.url} --token ${DEMO_TOKEN}; Ctrl-C to stop`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await fleet.close();
  return result;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface DemoFlags {
  readonly fleet?: string;
  readonly rollout?: string;
  readonly planOut?: string;
  readonly port: string;
  readonly exitWhenDone: boolean;
  readonly output: OutputFormat;
  readonly timeout: string;
  readonly tty: boolean;
}

/** `meshwave demo` (`npm start`): the whole system on a simulated fleet, in one process. */
export function demoCommand(ctx: CliContext): Command {
  const cmd = new Command('demo')
    .description('upgrade a simulated fleet in one process (npm start); -o json --exit-when-done for scripts')
    .option('--fleet <file>', "the simulated fleet (default: the repository's examples/demo-fleet.yml)")
    .option('--rollout <file>', 'the rollout file it shortens and applies (default: examples/rollouts.yml)')
    .option('--plan-out <file>', 'write the plan the planner returned, as JSON')
    .option('--port <port>', 'API and dashboard port (0: any free port)', '8080')
    .option('--exit-when-done', 'stop the fleet and exit when the rollout ends (exit 0 when it completed)', false)
    .option('--timeout <seconds>', 'give up after this many seconds', '300')
    .option('--no-tty', 'plain, append-only lines even on a terminal (as off one)')
    .addOption(
      new Option('-o, --output <format>', 'table: the progress; json, yaml: the summary alone, as one document')
        .choices([OutputFormat.Table, OutputFormat.Json, OutputFormat.Yaml])
        .default(OutputFormat.Table),
    );
  addDeprecatedAlias(cmd, ctx.io, { flags: '--json', replaces: 'output', use: '-o json', sets: OutputFormat.Json });
  addExamples(cmd, ['meshwave demo', 'meshwave demo --exit-when-done -o json --port 0']);
  return cmd.action(async (opts: DemoFlags) => {
    const { io } = ctx;
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      io.stderr(`--port: "${opts.port}" is not a TCP port`);
      ctx.exit = ExitCode.InvalidInput;
      return;
    }
    const terminal = opts.tty ? io.terminal : undefined;
    const result = await runDemo(
      {
        ...(opts.fleet === undefined ? {} : { fleetFile: opts.fleet }),
        ...(opts.rollout === undefined ? {} : { rolloutFile: opts.rollout }),
        ...(opts.planOut === undefined ? {} : { planFile: opts.planOut }),
        port,
        exitWhenDone: opts.exitWhenDone,
        ...(opts.output === OutputFormat.Table ? {} : { summary: opts.output }),
        ...(terminal === undefined ? {} : { terminal }),
        timeoutSeconds: Number(opts.timeout) || 300,
      },
      io,
    );
    ctx.exit = result.exit;
  });
}
