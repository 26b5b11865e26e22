import { z } from 'zod';

const DURATION_UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;
const DURATION = /^(?:\d+[smhdw])+$/;

/** Parses `90s`, `2h`, `3d`, `1h30m` into seconds; undefined when the text is not a duration. */
export function parseDurationSeconds(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) {
    total += Number(amount) * DURATION_UNIT_SECONDS[unit as keyof typeof DURATION_UNIT_SECONDS];
  }
  return total;
}

/** Longest duration text accepted: enough for `1w2d3h4m5s`, short enough to parse in no time. */
const DURATION_MAX_LENGTH = 32;

/**
 * A duration written as `90s`, `15m`, `2h`, `3d`, `1w` or a combination (`1h30m`), parsed to seconds and at
 * most `max` (written as a duration, e.g. `365d`): an unbounded one (`999999999d`) would overflow every date
 * computed from it. The limits of each field are listed in ADR 0013.
 */
export function durationUpTo(max: string): z.ZodType<number, string> {
  const maxSeconds = parseDurationSeconds(max);
  if (maxSeconds === undefined) throw new TypeError(`${max} is not a duration`);
  return z
    .string()
    .max(DURATION_MAX_LENGTH, `a duration has at most ${DURATION_MAX_LENGTH} characters`)
    .regex(DURATION, 'a duration such as 90s, 15m, 2h, 3d or 1h30m')
    .transform((text) => parseDurationSeconds(text) ?? 0)
    .refine((seconds) => seconds <= maxSeconds, `a duration of at most ${max}`)
    .describe(`a duration such as 90s, 15m, 2h, 3d or 1h30m; at most ${max}`);
}

/** Largest absolute count a percent-or-count may give (units, hosts, milliseconds); beyond any real fleet. */
export const MAX_COUNT = 1_000_000;

/** A share (`10%`) or an absolute count (`3`) of some population. */
export type PercentOrCount =
  { readonly kind: 'percent'; readonly value: number } | { readonly kind: 'count'; readonly value: number };

export const PercentOrCount = z
  .union([
    z.number().int().nonnegative().max(MAX_COUNT, `a count of at most ${MAX_COUNT}`),
    z.string().regex(/^(\d+(\.\d+)?%|\d+)$/, 'a percentage such as 10% or a count such as 3'),
  ])
  .transform((v): PercentOrCount => {
    if (typeof v === 'number') return { kind: 'count', value: v };
    if (v.endsWith('%')) return { kind: 'percent', value: Number(v.slice(0, -1)) };
    return { kind: 'count', value: Number(v) };
  })
  .refine((v) => v.kind === 'count' || v.value <= 100, 'a percentage may not exceed 100%')
  .refine((v) => v.kind === 'percent' || v.value <= MAX_COUNT, `a count of at most ${MAX_COUNT}`)
  .describe(`a percentage (0% to 100%) or a count (0 to ${MAX_COUNT})`);

/**
 * How many units (or hosts) may restart at once: a share above 0% or a count of at least 1. Zero would stall a
 * wave forever (no batch could ever start), so it is refused where it is written.
 */
export const MaxUnavailable = PercentOrCount.refine(
  (v) => v.value > 0,
  'at least 1 (or a percentage above 0%): with 0 nothing could ever restart',
).describe(`a percentage above 0% (up to 100%) or a count from 1 to ${MAX_COUNT}`);

/**
 * Resolves a percent-or-count against a population of `total`: percentages round up, so that any non-zero
 * budget allows at least one (a `maxUnavailable` of 10% over 3 workloads still lets one restart).
 */
export function resolvePercentOrCount(v: PercentOrCount, total: number): number {
  if (total <= 0) return 0;
  const raw = v.kind === 'count' ? v.value : Math.ceil((v.value / 100) * total - 1e-9);
  return Math.min(total, Math.max(v.value > 0 ? 1 : 0, raw));
}

/** An Istio revision name: lowercase alphanumerics and `-`, starting and ending alphanumeric, at most 63 characters. */
export const RevisionName = z
  .string()
  .max(63, 'a revision name has at most 63 characters')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'a revision name as Istio allows it: lowercase alphanumerics and "-", e.g. 1-25-2',
  );

/** An RFC 3339 timestamp with a zone offset, e.g. 2026-12-20T00:00:00Z. */
export const Timestamp = z.iso.datetime({ offset: true, message: 'an RFC 3339 time such as 2026-12-20T00:00:00Z' });

/** A Kubernetes object name (DNS-1123 label). */
export const ObjectName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes name: lowercase alphanumerics, "-" and "."');

/** Longest name glob: a Kubernetes name has at most 253 characters, a glob that matches one needs no more. */
export const MAX_GLOB_LENGTH = 253;

/**
 * The longest name of something meshwave names itself: a rollout (`metadata.name`) or a cluster. 63 is a
 * DNS-1123 label's length and a Kubernetes label value's: Istio carries a cluster's name in the
 * `topology.istio.io/cluster` label, and a name that fits there fits every key, header and label meshwave
 * writes. The same limit holds where a name is created (spec, inventory) and wherever a route takes it.
 */
export const NAME_MAX_LENGTH = 63;

/** A rollout or cluster name: a Kubernetes-style name of at most `NAME_MAX_LENGTH` characters. */
export const ResourceName = z
  .string()
  .min(1)
  .max(NAME_MAX_LENGTH, `a name has at most ${NAME_MAX_LENGTH} characters`)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes name: lowercase alphanumerics, "-" and "."');

/**
 * Servers set their router's path-parameter cap (fastify `maxParamLength`) to this: far above what any
 * name or id schema accepts (the longest, a Kubernetes object name, is 253), so an overlong name is refused
 * by its schema (400 with the field) and never cut short by the router (whose 414 knows no field).
 */
export const PATH_PARAM_CAP = 1024;

/** A name glob: `*` matches any run of characters, `?` one character; everything else is literal. */
export const NameGlob = z
  .string()
  .min(1, 'a name or a glob such as staging-*')
  .max(MAX_GLOB_LENGTH, `a glob has at most ${MAX_GLOB_LENGTH} characters`)
  .describe(`a name or a glob such as staging-*; at most ${MAX_GLOB_LENGTH} characters`);

/** Kubernetes-style label map. */
export const Labels = z.record(z.string().min(1), z.string());
