import { afterEach, describe, expect, it, vi } from 'vitest';
import { IstioAnnotation, injectedRevisionOf } from './revision-labels.js';

const status = (revision: string | undefined): Record<string, string> => ({
  [IstioAnnotation.SidecarStatus]: JSON.stringify({
    initContainers: ['istio-init'],
    containers: ['istio-proxy'],
    ...(revision === undefined ? {} : { revision }),
  }),
});

afterEach(() => vi.restoreAllMocks());

describe('injectedRevisionOf', () => {
  it('reads the revision the injector recorded, the default one without a field, none without the annotation', () => {
    expect(injectedRevisionOf(status('1-25-2'))).toBe('1-25-2');
    expect(injectedRevisionOf(status(undefined))).toBe('default');
    expect(injectedRevisionOf({})).toBeNull();
    expect(injectedRevisionOf(undefined)).toBeNull();
    expect(injectedRevisionOf({ [IstioAnnotation.SidecarStatus]: 'not json' })).toBeNull();
    expect(injectedRevisionOf({ [IstioAnnotation.SidecarStatus]: 'not json' })).toBeNull();
  });

  it('parses each distinct status value once, however many pods carry it', () => {
    // Given 2,000 pods of two revisions, each read three times (as assessing their units does)
    const pods = Array.from({ length: 2_000 }, (_, i) => status(i % 2 === 0 ? '1-24-5-a' : '1-25-2-a'));
    const parse = vi.spyOn(JSON, 'parse');
    const revisions = [0, 1, 2].flatMap(() => pods.map((annotations) => injectedRevisionOf(annotations)));
    // Then every answer is right, and the JSON was parsed once per distinct value, not once per read
    expect(revisions.filter((r) => r === '1-24-5-a')).toHaveLength(3_000);
    expect(revisions.filter((r) => r === '1-25-2-a')).toHaveLength(3_000);
    expect(parse.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('stays right when more distinct values come than it keeps', () => {
    for (let i = 0; i < 3_000; i++) expect(injectedRevisionOf(status(`r-${i}`))).toBe(`r-${i}`);
    expect(injectedRevisionOf(status('r-7'))).toBe('r-7');
  });
});
