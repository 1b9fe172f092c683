// Who may change the switch. P4Runtime divides write access by role (the
// Role a client names when it arbitrates, and in every Write); the switch
// knows two (../roles.ts). The default role owns every table: the
// controllers hold it, one primary at a time. READ_ONLY_ROLE owns none:
// `talaria switch tables`, `talaria status` and `talaria service list` open
// their session in it, so a slip in a tool cannot write. On a mutual-TLS channel the client's
// certificate decides which roles it may take: the default role only for the
// writer identities (the controller's certificate), whatever the client
// asks. Reads are open to every client the transport let in, as the spec has
// it.
import { Code } from '../proto/codes.js';
import { KNOWN_ROLES, READ_ONLY_ROLE } from '../roles.js';
import { UpdateError } from './update-error.js';

export interface AccessPolicy {
  /**
   * Certificate names (subject CN or DNS SAN) that may take the default role.
   * Undefined: every client the transport admitted (on plaintext, everyone).
   */
  readonly writers?: readonly string[];
}

function roleLabel(role: string): string {
  return role === '' ? 'the default role' : `role '${role}'`;
}

/** Throws PERMISSION_DENIED unless the role exists and this client may act in it (write: change the switch through it). */
export function authorize(policy: AccessPolicy, role: string, identities: readonly string[] | undefined, action: 'arbitrate' | 'write'): void {
  if (!KNOWN_ROLES.includes(role)) {
    throw new UpdateError(Code.PERMISSION_DENIED, `${roleLabel(role)} is not configured on this switch (roles: the default role, '${READ_ONLY_ROLE}')`);
  }
  if (role === READ_ONLY_ROLE) {
    if (action === 'write') throw new UpdateError(Code.PERMISSION_DENIED, `${roleLabel(role)} owns no table: it may read, not write`);
    return;
  }
  if (policy.writers === undefined) return;
  if (identities === undefined) {
    throw new UpdateError(Code.PERMISSION_DENIED, `${roleLabel(role)} needs a client certificate naming a writer (${policy.writers.join(', ')}); this channel has none`);
  }
  if (!identities.some((n) => policy.writers!.includes(n))) {
    throw new UpdateError(
      Code.PERMISSION_DENIED,
      `client '${identities.join("', '") || '(no name)'}' may not take ${roleLabel(role)}: only ${policy.writers.join(', ')} may write; read-only clients use role '${READ_ONLY_ROLE}'`,
    );
  }
}
