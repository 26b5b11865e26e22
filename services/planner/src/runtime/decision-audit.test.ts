import { describe, expect, it } from 'vitest';
import type { Decision } from '../core/decision.js';
import { auditOf } from './decision-audit.js';

const NOW = new Date('2026-12-06T10:00:00Z');

describe('what a decision leaves in the audit', () => {
  it('Given a decision that both moves the rollout and sets a condition, Then the audit entry says both reasons', () => {
    const decision = {
      transitions: [
        { from: 'Running/Soaking', to: 'Running/Dispatching', trigger: 'soaked', wave: 1, reason: 'wave 0 soaked' },
      ],
      conditions: [{ type: 'EmergencyInBlackout', status: true, message: 'restarts inside the blackout (freeze)' }],
    } as unknown as Decision;

    const entry = auditOf('r1', decision, NOW);

    expect(entry?.action).toBe('transition');
    expect(entry?.reason).toContain('wave 0 soaked');
    expect(entry?.reason).toContain('inside the blackout');
  });

  it('Given a decision with neither a transition nor a condition, Then nothing is audited', () => {
    expect(auditOf('r1', { transitions: [], conditions: [] } as unknown as Decision, NOW)).toBeUndefined();
  });
});
