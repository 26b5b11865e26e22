import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiRole } from '@meshwave/contracts';

/** A bearer token as configuration holds it: its name (the audit's "who"), its role, and only a hash. */
export interface ApiToken {
  readonly name: string;
  readonly role: ApiRole;
  /** hex SHA-256 of the token */
  readonly sha256: string;
}

const RANK: Record<ApiRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `role` may do what `required` may (roles include the ones below them). */
export function roleAllows(role: ApiRole, required: ApiRole): boolean {
  return RANK[role] >= RANK[required];
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Tokens given in plain text (tests, the embedded demo) hashed at once; the plain text is not kept. */
export function hashTokens(tokens: readonly { name: string; role: ApiRole; token: string }[]): ApiToken[] {
  return tokens.map((t) => ({ name: t.name, role: t.role, sha256: hashToken(t.token) }));
}

/** The token's identity, or undefined. Compares hashes in constant time. */
export function authenticate(tokens: readonly ApiToken[], presented: string): ApiToken | undefined {
  const digest = Buffer.from(hashToken(presented), 'hex');
  let found: ApiToken | undefined;
  for (const t of tokens) {
    const known = Buffer.from(t.sha256, 'hex');
    if (known.length === digest.length && timingSafeEqual(known, digest)) found = t;
  }
  return found;
}

export { ApiRole };
