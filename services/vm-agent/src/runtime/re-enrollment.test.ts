import type { HostDesired, HostReportBody } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import type { BridgeClient } from '../adapters/bridge-client.js';
import { VmAgentError, VmAgentErrorCode } from '../errors.js';
import { reEnrolling } from './re-enrollment.js';

const DESIRED: HostDesired = { host: 'vm-0', group: 'web', version: 'v1', bundle: null, assignment: 0, etag: '"0-x"' };

/** A bridge that forgot the host (its store lost its data) until it enrolls again; `status` is how it says so. */
function newForgetfulBridge(status: number): BridgeClient & { enrolled: (string | null)[]; reports: number } {
  let known = false;
  const refuse = (): never => {
    throw new VmAgentError(VmAgentErrorCode.BridgeRejected, `vm-bridge answered ${status}`, {
      context: { status },
      retryable: false,
    });
  };
  const bridge = {
    enrolled: [] as (string | null)[],
    reports: 0,
    register: async (version: string | null) => {
      bridge.enrolled.push(version);
      known = true;
    },
    desired: async () => (known ? DESIRED : refuse()),
    report: async (_body: HostReportBody) => {
      if (!known) refuse();
      bridge.reports++;
    },
  };
  return bridge;
}

describe('vm-agent: enrolling again', () => {
  it.each([401, 404])(
    'Given a bridge that no longer knows the host (%i), When the agent polls and reports, Then it enrolls again with its running version and the calls go through',
    async (status) => {
      const bridge = newForgetfulBridge(status);
      const client = reEnrolling(
        bridge,
        () => 'v1',
        () => undefined,
      );
      expect(await client.desired(undefined, 0)).toEqual(DESIRED);
      await client.report({ runningVersion: 'v1', healthy: true, phase: 'idle' });
      expect(bridge.enrolled).toEqual(['v1']);
      expect(bridge.reports).toBe(1);
    },
  );

  it('Given a bridge that refuses the host for another reason (403), When the agent reports, Then it does not enroll again and the refusal stands', async () => {
    const bridge = newForgetfulBridge(403);
    const client = reEnrolling(
      bridge,
      () => 'v1',
      () => undefined,
    );
    await expect(client.report({ runningVersion: 'v1', healthy: true, phase: 'idle' })).rejects.toThrow(/403/);
    expect(bridge.enrolled).toEqual([]);
  });
});
