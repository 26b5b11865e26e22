import type { HostReportBody } from '@meshwave/contracts';
import type { HostRecord, HostReport } from '../core/batch-decision.js';
import { unknownHost, type BridgeContext } from './bridge-context.js';
import type { GroupWriter } from './group-writer.js';

/** Hosts' reports, applied per group in batches (a report may complete or fail a batch of the rollout). */
export class ReportIntake {
  private readonly pendingReports = new Map<string, Map<string, HostReport>>();
  private readonly queuedFlushes = new Map<string, Promise<void>>();
  /** when each group's last flush took its reports */
  private readonly lastFlushAt = new Map<string, number>();

  constructor(
    private readonly ctx: BridgeContext,
    private readonly writer: GroupWriter,
  ) {}

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
    const pending = this.pendingReports.get(entry.group) ?? new Map<string, HostReport>();
    pending.set(host, report);
    this.pendingReports.set(entry.group, pending);
    await this.flushReports(entry.group);
  }

  /**
   * Applies every report received since the last flush in one read-decide-write: with thousands of hosts
   * reporting, one transition per report would queue up behind the group's lock faster than it drains.
   * A flush that is queued but not started takes in the reports that arrive meanwhile; a group's flushes start
   * at most every `reportFlushMs`, so a decision of the whole group is made per interval, not per report.
   */
  private flushReports(group: string): Promise<void> {
    const queued = this.queuedFlushes.get(group);
    if (queued !== undefined) return queued;
    const { clock, settings } = this.ctx;
    const wait = (this.lastFlushAt.get(group) ?? -Infinity) + settings.reportFlushMs - clock.now();
    let drained: ReadonlyMap<string, HostReport> | undefined;
    const apply = (): Promise<void> =>
      this.writer.mutate(group, (loaded) => {
        if (drained === undefined) {
          // First attempt: take what is pending now; later reports go to the next flush. Retries reuse it.
          this.lastFlushAt.set(group, clock.now());
          this.queuedFlushes.delete(group);
          drained = this.pendingReports.get(group) ?? new Map<string, HostReport>();
          this.pendingReports.delete(group);
        }
        const hosts: HostRecord[] = [];
        for (const [name, report] of drained) {
          const current = loaded.hosts.get(name)?.record;
          if (current !== undefined) hosts.push({ ...current, report });
        }
        return { outcome: undefined, changes: { hosts } };
      });
    const flush = wait > 0 ? clock.sleep(wait).then(apply) : apply();
    this.queuedFlushes.set(group, flush);
    // A flush that failed before it started (bridge not active) must not answer every later report.
    void flush
      .catch(() => undefined)
      .finally(() => {
        if (this.queuedFlushes.get(group) === flush) this.queuedFlushes.delete(group);
      });
    return flush;
  }
}
