import { InvalidArgumentError, type Command } from 'commander';
import { MAX_PAGE_LIMIT, type AuditPage, type RolloutEvent } from '@meshwave/contracts';
import { stringify } from 'yaml';
import { withPlannerClient } from './cli-config.js';
import { ExitCode } from '../io.js';
import { OutputFormat, printAs, type CliContext } from './cli-options.js';
import { plannerCommand, type ClientFlags } from './operator-commands.js';
import type { ServerSentEvent } from '../adapters/event-stream-reader.js';
import { ClientErrorCode, PlannerClientError } from '../adapters/planner-client.js';

const positiveInt =
  (max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`an integer from 1 to ${max}`);
    return n;
  };

type PageFlags = ClientFlags & { limit?: number; cursor?: string };

/** Tells people (on stderr, so JSON on stdout stays one document) how to read the next, older page. */
function olderPage(ctx: CliContext, next: string | undefined, command: string): void {
  if (next !== undefined) ctx.io.stderr(`older entries: ${command} --cursor ${next}`);
}

/** `meshwave audit [ROLLOUT]`: who did what, when and why; fleet-wide, of one rollout, or of one scope. */
function auditCommand(ctx: CliContext): Command {
  return plannerCommand(
    ctx,
    'audit [rollout]',
    "the audit log: who did what, when and why (fleet-wide, or a rollout's)",
    ['meshwave audit', 'meshwave audit istio-1-25-2-abc123', 'meshwave audit --scope fleet --limit 20 -o json'],
  )
    .option('--scope <scope>', 'only this scope: a rollout id, "fleet" (inventory changes) or a VM group')
    .option('--limit <n>', `entries per page (1-${MAX_PAGE_LIMIT}; default 100)`, positiveInt(MAX_PAGE_LIMIT))
    .option('--cursor <cursor>', 'the older page a previous page named')
    .action(async (rollout: string | undefined, opts: PageFlags & { scope?: string }) => {
      ctx.exit = await withPlannerClient(opts, ctx.io, async (client) => {
        // A rollout's own route says 404 for an unknown id, where a scope would be an empty page.
        const page =
          rollout !== undefined && opts.limit === undefined && opts.cursor === undefined
            ? await client.rolloutAudit(rollout)
            : await client.audit({
                ...(rollout !== undefined || opts.scope !== undefined ? { scope: rollout ?? opts.scope } : {}),
                ...(opts.limit === undefined ? {} : { limit: opts.limit }),
                ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }),
              });
        printAs(
          ctx.io,
          opts.output,
          page,
          () =>
            page.entries
              .map(
                (e) =>
                  `${e.at}  ${e.actor.padEnd(16)} ${e.action.padEnd(12)} ${e.scope}${e.reason ? `  "${e.reason}"` : ''}`,
              )
              .join('\n') || 'no audit entries',
        );
        olderPage(ctx, 'nextCursor' in page ? (page as AuditPage).nextCursor : undefined, 'meshwave audit');
        return ExitCode.Ok;
      });
    });
}

/** `meshwave transitions ID`: every transition a rollout made, oldest first within a page. */
function transitionsCommand(ctx: CliContext): Command {
  return plannerCommand(
    ctx,
    'transitions <id>',
    "a rollout's transitions (state changes with trigger, actor, reason)",
    ['meshwave transitions istio-1-25-2-abc123', 'meshwave transitions istio-1-25-2-abc123 --limit 500 -o json'],
  )
    .option('--limit <n>', `transitions per page (1-${MAX_PAGE_LIMIT}; default 100)`, positiveInt(MAX_PAGE_LIMIT))
    .option('--cursor <cursor>', 'the older page a previous page named')
    .action(async (id: string, opts: PageFlags) => {
      ctx.exit = await withPlannerClient(opts, ctx.io, async (client) => {
        const page = await client.transitions(id, {
          ...(opts.limit === undefined ? {} : { limit: opts.limit }),
          ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }),
        });
        printAs(ctx.io, opts.output, page, () =>
          [
            ...page.transitions.map(
              (t) => `#${t.seq} ${t.at} wave ${t.wave} ${t.from} → ${t.to} (${t.trigger}, ${t.actor}): ${t.reason}`,
            ),
            `${page.total} transitions in all${page.oldestKept > 0 ? `; before #${page.oldestKept} in the audit only` : ''}`,
          ].join('\n'),
        );
        olderPage(ctx, page.nextCursor, `meshwave transitions ${id}`);
        return ExitCode.Ok;
      });
    });
}

/** An event as one line for people. */
export function describeEvent(e: RolloutEvent | { readonly unknown: ServerSentEvent }): string {
  if ('unknown' in e) return `(${e.unknown.event}) ${e.unknown.data}`;
  const detail = e.transition
    ? `${e.transition.from} → ${e.transition.to} (${e.transition.trigger}, ${e.transition.actor}): ${e.transition.reason}`
    : e.verdict
      ? `gate ${e.verdict.outcome} ${e.verdict.reason}: ${e.verdict.message}`
      : (e.message ?? '');
  return `${e.at} ${e.rolloutId} ${e.type.padEnd(10)} ${e.phase}${e.wavePhase ? `/${e.wavePhase}` : ''} wave ${e.wave}: ${detail}`;
}

const RECONNECT_MS = { first: 1000, max: 10_000 } as const;

/**
 * `meshwave events`: follows the planner's event stream (`GET /v1/events`) as it happens. When the stream ends
 * (a planner restarting, a proxy's timeout) it says so on stderr and reconnects, waiting 1 s, then up to 10 s.
 */
function eventsCommand(ctx: CliContext): Command {
  return plannerCommand(ctx, 'events', 'follow the planner event stream: transitions, verdicts, progress, actions', [
    'meshwave events',
    'meshwave events --rollout istio-1-25-2-abc123 -o json   # one JSON object per line',
    'meshwave events --count 1   # wait for the next event, print it, exit',
  ])
    .option('--rollout <id>', "only this rollout's events")
    .option('--count <n>', 'exit 0 after this many events', positiveInt(Number.MAX_SAFE_INTEGER))
    .action(async (opts: ClientFlags & { rollout?: string; count?: number }) => {
      const { io } = ctx;
      ctx.exit = await withPlannerClient(opts, io, async (client) => {
        let seen = 0;
        let wait: number = RECONNECT_MS.first;
        // Once the stream has worked, a break is a planner restarting or a proxy's timeout: reconnect. Before
        // that, an error is the answer (wrong URL, token, rollout) and ends the command.
        let connected = false;
        for (;;) {
          try {
            for await (const event of client.events(opts.rollout)) {
              connected = true;
              wait = RECONNECT_MS.first;
              io.stdout(
                opts.output === OutputFormat.Json
                  ? JSON.stringify(event)
                  : opts.output === OutputFormat.Yaml
                    ? `---\n${stringify(event)}`
                    : describeEvent(event),
              );
              // leaving the loop cancels the stream (and closes its connection)
              if (opts.count !== undefined && ++seen >= opts.count) return ExitCode.Ok;
            }
            connected = true;
            io.stderr(`meshwave: the planner closed the event stream; reconnecting in ${wait / 1000} s`);
          } catch (err) {
            if (!connected || (err instanceof PlannerClientError && err.code === ClientErrorCode.Api)) throw err;
            io.stderr(`meshwave: the event stream broke (${(err as Error).message}); reconnecting in ${wait / 1000} s`);
          }
          await ctx.sleep(wait);
          wait = Math.min(RECONNECT_MS.max, wait * 2);
        }
      });
    });
}

/** The commands that read a planner's history: the audit, a rollout's transitions, the live event stream. */
export function historyCommands(ctx: CliContext): Command[] {
  return [auditCommand(ctx), transitionsCommand(ctx), eventsCommand(ctx)];
}
