import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashParts, saltSeed, stableHash } from './stable-hash.js';

describe('stable hash', () => {
  it('hashes parts exactly as the joined key', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 5 }),
        (salt, parts) => {
          expect(hashParts(saltSeed(salt), ...parts)).toBe(stableHash(salt, parts.join('/')));
        },
      ),
    );
  });

  it('never changes between releases: the same salt picks the same canaries next quarter', () => {
    expect(stableHash('istio-1-25-2', 'prod-us-east-1/payments/Deployment/api')).toBe(
      stableHash('istio-1-25-2', 'prod-us-east-1/payments/Deployment/api'),
    );
    expect([stableHash('q1', 'a'), stableHash('q1', 'b'), stableHash('q2', 'a')]).toEqual([
      992962480, 3773996514, 3130468100,
    ]);
  });
});
