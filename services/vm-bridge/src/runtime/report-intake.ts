import type { HostReportBody } from '@meshwave/contracts';
import type { HostRecord, HostReport } from '../core/batch-decision.js';
import { unknownHost, type BridgeContext } from './bridge-context.js';
import { CoalescedWrites } from './coalesced-writes.js';
import type { GroupWriter } from './group-writer.js';

/**
 * A report that says what the host's last stored report said is not written again until that one is this old,
 * as a share of `reportStaleMs`: the stored receive time then lags the host's newest report by at most a third of
 * the staleness limit, so a host that stops reporting is seen stale that much sooner, never later.
 */
const REFRESH_SHARE_OF_STALE = 1 / 3;

/** Whether two reports say the same, their receive times aside. */
function sameNews(a: HostReport, b: HostReport): boolean {
  return (
    a.runningVersion === b.runningVersion &&
    a.healthy === b.healthy &&
    a.phase === b.phase &&
    a.lastError === b.lastError &&
    a.failedVersion === b.failedVersion &&
    a.assignment === b.assignment
  );
}

/**
 * Hosts' reports, applied per group in batches (a report may complete or fail a batch of the rollout): every
 * report received since the last flush goes into one read-decide-write, at most every `reportFlushMs`.
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
    // A heartbeat with no news costs nothing: no decision of the group (its size) and no write, unless the stored
    // report is getting old (issue 15: 10,000 hosts each reporting every few seconds re-decided their groups
    // thousands of times a second). A report waiting for the next flush is replaced as before.
    const last = entry.record.report;
    if (
      last !== undefined &&
      sameNews(last, report) &&
      report.at - last.at < this.ctx.settings.reportStaleMs * REFRESH_SHARE_OF_STALE &&
      this.writes.pendingItem(entry.group, host) === undefined
    )
      return;
    await this.writes.submit(entry.group, host, report);
  }
}
