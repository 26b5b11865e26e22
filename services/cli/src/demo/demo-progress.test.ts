import { describe, expect, it } from 'vitest';
import type { RolloutStatus } from '@meshwave/contracts';
import { formatProgressLine, progressLines, PROGRESS_PREFIX, progressOf } from './demo-progress.js';

const counts = (converged: number, failed = 0) => ({ pending: 1, moving: 2, converged, failed, excluded: 0 });
const hosts = (converged: number) => ({ pending: 1, upgrading: 0, converged, failed: 0 });

/** A rollout in its second of two waves: the first on target, the second half way. */
function newStatus(): RolloutStatus {
  const wave = (index: number, name: string, state: string, onTarget: number, failed: number) => ({
    index,
    name,
    state,
    units: counts(onTarget, failed),
    vmHosts: hosts(onTarget),
    onTarget: { units: onTarget, vmHosts: onTarget },
  });
  return {
    phase: 'Running',
    wave: 1,
    waves: 2,
    waveStatuses: [wave(0, 'staging', 'passed', 10, 0), wave(1, 'prod', 'active', 4, 1)],
  } as unknown as RolloutStatus;
}

describe("the demo's progress", () => {
  it('sums the units and VM hosts on target over the waves and names the current wave', () => {
    expect(progressOf(newStatus())).toEqual({
      phase: 'Running',
      wave: { index: 1, name: 'prod', state: 'active' },
      waves: 2,
      units: { total: 13 + 8, onTarget: 14 },
      vmHosts: { total: 11 + 5, onTarget: 14 },
      failed: 1,
    });
  });

  it('prints one prefixed JSON line at most every 10 s', () => {
    const lines: string[] = [];
    const onStatus = progressLines({ stderr: (l) => lines.push(l) }, { appliedAt: Date.now() });
    onStatus(newStatus());
    onStatus(newStatus());
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(PROGRESS_PREFIX)).toBe(true);
    expect(JSON.parse(lines[0]!.slice(PROGRESS_PREFIX.length))).toMatchObject({ seconds: 0, phase: 'Running' });
    expect(formatProgressLine(newStatus(), 12.4)).toContain('"seconds":12');
  });
});
