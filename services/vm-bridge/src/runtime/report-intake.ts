import type { HostReportBody } from '@meshwave/contracts';
import type { HostRecord, HostReport } from '../core/batch-decision.js';
import { unknownHost, type BridgeContext } from './bridge-context.js';
import { CoalescedWrites } from './coalesced-writes.js';
import type { GroupWriter } from './group-writer.js';

/**
 * Hosts' reports, applied per group in batches (a report may complete or fail a batch of the rollout): every
 * report received since the last flush goes into one read-decide-write, at most every `reportFlushMs`; a report of a
 * host in the batch in flight at once (ADR 0063).
 */
export class ReportIntake {
  private readonly writes: CoalescedWrites<HostReport, void>;

  constructor(
    private readonly ctx: BridgeContext,
    writer: GroupWriter,
  ) {
    this.writes = new CoalescedWrites<HostReport, void>(ctx, writer, (loaded, reports) => {
      const hosts: HostRecord[] = [];
      const outcome = new Map<string, { result: undefined } | { error: unknown }>();
      for (const [name, report] of reports) {
        const current = loaded.hosts.get(name)?.record;
        // a host the store does not hold (lost with its data) is told so, and enrolls again: its report is not dropped
        // silently while it waits for a batch that can never include it
        if (current === undefined) outcome.set(name, { error: unknownHost(name) });
        else {
          hosts.push({ ...current, report });
          outcome.set(name, { result: undefined });
        }
      }
      return { outcome, changes: { hosts } };
    });
  }

  /** Records a host's report and reconciles its group. */
  async report(host: string, body: HostReportBody): Promise<void> {
    const entry = this.ctx.hosts.get(host);
    if (entry === undefined) throw unknownHost(host);
    this.ctx.metrics.reports.inc({ group: entry.group });
    const report: HostReport = {
      runningVersion: body.runningVersion,
      healthy: body.healthy,
      phase: body.phase,
      at: this.ctx.clock.now(),
      ...(body.lastError !== undefined ? { lastError: body.lastError } : {}),
      ...(body.failedVersion !== undefined ? { failedVersion: body.failedVersion } : {}),
      ...(body.assignment !== undefined ? { assignment: body.assignment } : {}),
    };
    // a host of the batch in flight may complete or fail it: its report is written at once (ADR 0063)
    // Every report waits for its group's flush (reportFlushMs), the batch's too: writing each report of a batch in
    // flight at once made 500-host batches twice as slow (ADR 0063, session 12 addendum).
    await this.writes.submit(entry.group, host, report);
  }
}
