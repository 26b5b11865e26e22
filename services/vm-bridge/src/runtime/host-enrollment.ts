import { VmHostState, vmGroupKey, type HostRegistrationBody, type HostRegistrationResult } from '@meshwave/contracts';
import type { HostCredential, StoredGroup } from '../adapters/group-store.js';
import type { HostRecord } from '../core/batch-decision.js';
import { VmBridgeError, VmBridgeErrorCode } from '../errors.js';
import { requireActive, unknownGroup, type BridgeContext } from './bridge-context.js';
import { CoalescedWrites, type BatchChange } from './coalesced-writes.js';
import type { GroupWriter } from './group-writer.js';
import { bearerToken, hashToken, sameDigest } from './host-token.js';

/** What removing a host did. */
export interface HostRemoval {
  readonly host: string;
  readonly group: string;
  readonly result: 'removed' | 'absent';
}

/**
 * Enrollment and host authentication (ADR 0008): hosts enroll and are removed with their group's enrollment token,
 * and every later request carries the host's own bearer token, of which only the sha256 is stored.
 */
export class HostEnrollment {
  /** registrations arriving together are written together (a fleet of hosts enrolling at once) */
  private readonly registrations: CoalescedWrites<HostRegistrationBody, HostRegistrationResult>;

  constructor(
    private readonly ctx: BridgeContext,
    private readonly writer: GroupWriter,
  ) {
    this.registrations = new CoalescedWrites(ctx, writer, (loaded, bodies) =>
      this.registerAll(loaded.name, loaded, bodies),
    );
  }

  /** Enrolls a host into a group (idempotent for the same token hash). */
  async registerHost(
    group: string,
    authorization: string | undefined,
    body: HostRegistrationBody,
  ): Promise<HostRegistrationResult> {
    requireActive(this.ctx);
    this.requireEnrollmentToken(group, authorization, `enrolling into group "${group}"`);
    const known = this.ctx.hosts.get(body.host);
    if (known !== undefined && known.group !== group) {
      throw new VmBridgeError(
        VmBridgeErrorCode.HostConflict,
        `host "${body.host}" is registered in group "${known.group}"`,
        { context: { host: body.host } },
      );
    }
    // Two hosts claiming one name in the same flush: the first keeps it, as when they come in separate writes.
    const waiting = this.registrations.pendingItem(group, body.host);
    if (waiting !== undefined && !sameDigest(waiting.tokenSha256, body.tokenSha256))
      throw new VmBridgeError(
        VmBridgeErrorCode.HostConflict,
        `host "${body.host}" is being registered with another token`,
        {
          context: { host: body.host },
        },
      );
    return this.registrations.submit(group, body.host, body);
  }

  /**
   * One write for the registrations gathered for a group: each new host gets its record and credential, a host
   * already registered with the same token is unchanged, one registered with another token is refused.
   */
  private registerAll(
    group: string,
    loaded: StoredGroup,
    bodies: ReadonlyMap<string, HostRegistrationBody>,
  ): ReturnType<BatchChange<HostRegistrationBody, HostRegistrationResult>> {
    const outcome = new Map<string, { result: HostRegistrationResult } | { error: unknown }>();
    const hosts: HostRecord[] = [];
    const credentials = new Map<string, HostCredential>();
    for (const [host, body] of bodies) {
      const existing = loaded.credentials.get(host);
      if (existing !== undefined) {
        outcome.set(
          host,
          sameDigest(existing.credential.tokenSha256, body.tokenSha256)
            ? { result: { host, group, result: 'unchanged' } }
            : {
                error: new VmBridgeError(
                  VmBridgeErrorCode.HostConflict,
                  `host "${host}" is already registered with another token`,
                  { context: { host } },
                ),
              },
        );
        continue;
      }
      credentials.set(host, { tokenSha256: body.tokenSha256, registeredAt: this.ctx.clock.now() });
      hosts.push(
        loaded.hosts.get(host)?.record ?? {
          name: host,
          desiredVersion: body.runningVersion,
          previousVersion: body.runningVersion,
          assignment: 0,
          state: VmHostState.Pending,
        },
      );
      outcome.set(host, { result: { host, group, result: 'created' } });
    }
    if (hosts.length === 0) return { outcome };
    const names = hosts.map((h) => h.name);
    return {
      outcome,
      changes: { hosts, credentials },
      audit: {
        // one host enrolled as itself; hosts enrolling together in one write, with the group's enrollment token
        actor: names.length === 1 ? `host/${names[0]}` : `enrollment/${group}`,
        action: 'register',
        scope: vmGroupKey(group),
        at: new Date(this.ctx.clock.now()).toISOString(),
        ...(names.length > 1 ? { detail: { hosts: names } } : {}),
      },
    };
  }

  /**
   * Takes a host out of its group (decommissioned, re-imaged, or its token leaked), with the group's enrollment
   * token: whoever may enroll hosts may remove them. Its record and token are deleted, so the token is refused
   * from then on, the host no longer counts against maxUnavailable, and the same name may enroll again with a
   * new token. Removing an absent host changes nothing.
   */
  async removeHost(group: string, host: string, authorization: string | undefined): Promise<HostRemoval> {
    requireActive(this.ctx);
    this.requireEnrollmentToken(group, authorization, `removing a host from group "${group}"`);
    return this.writer.mutate<HostRemoval>(group, (loaded) => {
      if (!loaded.hosts.has(host) && !loaded.credentials.has(host))
        return { outcome: { host, group, result: 'absent' as const } };
      return {
        outcome: { host, group, result: 'removed' as const },
        changes: { removedHosts: [host] },
        audit: {
          actor: `enrollment/${group}`,
          action: 'remove-host',
          scope: vmGroupKey(group),
          at: new Date(this.ctx.clock.now()).toISOString(),
          detail: { host },
        },
      };
    });
  }

  private requireEnrollmentToken(group: string, authorization: string | undefined, what: string): void {
    const config = this.ctx.groups.get(group);
    if (config === undefined) throw unknownGroup(group);
    const token = bearerToken(authorization);
    if (
      token === undefined ||
      config.enrollmentTokenSha256 === undefined ||
      !sameDigest(hashToken(token), config.enrollmentTokenSha256)
    ) {
      throw new VmBridgeError(VmBridgeErrorCode.Unauthenticated, `${what} needs its enrollment token`, {
        context: { group },
      });
    }
  }

  /** Checks that `authorization` is `host`'s own token: 401 when it is nobody's, 403 when it is another host's. */
  authenticateHost(host: string, authorization: string | undefined): void {
    requireActive(this.ctx);
    const token = bearerToken(authorization);
    if (token === undefined) throw new VmBridgeError(VmBridgeErrorCode.Unauthenticated, 'missing bearer token');
    const digest = hashToken(token);
    const entry = this.ctx.hosts.get(host);
    if (entry !== undefined && sameDigest(entry.tokenSha256, digest)) return;
    const tokenHost = this.ctx.hosts.hostOfToken((tokenSha256) => sameDigest(tokenSha256, digest));
    if (tokenHost !== undefined) {
      throw new VmBridgeError(
        VmBridgeErrorCode.Forbidden,
        `this token belongs to another host and may not act for host "${host}"`,
        { context: { host, tokenHost } },
      );
    }
    throw new VmBridgeError(VmBridgeErrorCode.Unauthenticated, 'unknown bearer token');
  }
}
