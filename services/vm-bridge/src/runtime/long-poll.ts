import { createHash } from 'node:crypto';
import type { HostDesired } from '@meshwave/contracts';
import { unknownHost, type BridgeContext } from './bridge-context.js';

/** A long-poll answer: the desired state, or "unchanged" after waiting. */
export type DesiredAnswer =
  { readonly changed: true; readonly desired: HostDesired } | { readonly changed: false; readonly etag: string };

/** The desired state of `host` now. */
export function desiredOf(ctx: BridgeContext, host: string): HostDesired {
  const entry = ctx.hosts.get(host);
  if (entry === undefined) throw unknownHost(host);
  const version = entry.record.desiredVersion;
  const bundle = version === null ? null : (ctx.catalog.resolve(version) ?? null);
  const digest = createHash('sha256')
    .update(`${version ?? ''}|${bundle?.sha256 ?? ''}|${bundle?.configDigest ?? ''}`)
    .digest('hex')
    .slice(0, 16);
  const etag = `"${entry.record.assignment}-${digest}"`;
  const { traceparent } = entry.record;
  return {
    host,
    group: entry.group,
    version,
    bundle,
    assignment: entry.record.assignment,
    etag,
    ...(traceparent !== undefined ? { traceparent } : {}),
  };
}

/** Long poll: answers at once when the desired state differs from `ifNoneMatch`, else waits up to `waitMs`. */
export async function awaitDesired(
  ctx: BridgeContext,
  host: string,
  ifNoneMatch: string | undefined,
  waitMs: number,
  signal?: AbortSignal,
): Promise<DesiredAnswer> {
  let desired = desiredOf(ctx, host);
  if (ifNoneMatch === undefined || ifNoneMatch !== desired.etag) return { changed: true, desired };
  const wait = Math.min(waitMs, ctx.settings.maxLongPollMs);
  if (wait > 0 && !ctx.lifecycle.stopped) {
    ctx.metrics.longPolls.inc();
    try {
      await ctx.hosts.wait(host, wait, signal);
    } finally {
      ctx.metrics.longPolls.dec();
    }
    desired = desiredOf(ctx, host);
  }
  return desired.etag === ifNoneMatch ? { changed: false, etag: desired.etag } : { changed: true, desired };
}
