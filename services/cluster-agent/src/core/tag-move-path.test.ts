import { describe, expect, it } from 'vitest';
import type { IstioInstallation } from '../ports/kubernetes-port.js';
import { tagMovePathRefusal } from './tag-move-path.js';

const plane = (revision: string, version: string | null) => ({ revision, version, ready: true });
const installation = (tagPointsAt: string): Pick<IstioInstallation, 'controlPlanes' | 'tags'> => ({
  controlPlanes: [
    plane('1-22-1', '1.22.1'),
    plane('1-24-5', '1.24.5'),
    plane('1-25-2', '1.25.2'),
    plane('canary', null),
  ],
  tags: { 'prod-stable': tagPointsAt },
});

describe('tagMovePathRefusal: the live re-check of a tag move before the tag is written (ADR 0046)', () => {
  it.each([
    ['the path planned (1.24 → 1.25)', '1-24-5', '1-25-2', false, undefined],
    ['the tag already there', '1-25-2', '1-25-2', false, undefined],
    ['a version unknown (the plan said so)', 'canary', '1-25-2', false, undefined],
    [
      'a tag moved by hand to 1.22 since the plan',
      '1-22-1',
      '1-25-2',
      false,
      'moving tag prod-stable from 1-22-1 to 1-25-2: 1.22.1 → 1.25.2 is an upgrade of 3 minor versions; a revision-based upgrade may cross at most 2',
    ],
    ['the same, allowed by the rollout', '1-22-1', '1-25-2', true, undefined],
  ] as const)('%s', (_, current, revision, allowed, refusal) => {
    expect(tagMovePathRefusal(installation(current), 'prod-stable', revision, allowed)).toBe(refusal);
  });

  it('has nothing to judge where the cluster cannot say, or the tag is not registered', () => {
    expect(tagMovePathRefusal(undefined, 'prod-stable', '1-25-2', false)).toBeUndefined();
    expect(tagMovePathRefusal(installation('1-22-1'), 'other', '1-25-2', false)).toBeUndefined();
  });
});
