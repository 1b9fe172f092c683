// A read-only session with a switch, for the tools that only look
// (`talaria switch tables`, `status`, `service list`): the client arbitrates
// in READ_ONLY_ROLE, so a Talaria switch refuses any write it might send, and
// with a random election id, so that any number of tools can look at once.
// Reads need no arbitration in P4Runtime; a target that does not know the
// role (BMv2 gives a role without config full access, PI's rule) is read
// all the same, and there only the certificate restricts who connects.
import { randomBytes } from 'node:crypto';
import { READ_ONLY_ROLE } from '../roles.js';
import type { P4RuntimeTransport } from '../transport.js';
import { P4RuntimeClient } from './client.js';

export async function openReadOnly(o: { address: string; deviceId: bigint; transport?: P4RuntimeTransport; deadlineMs?: number }): Promise<P4RuntimeClient> {
  const electionId = randomBytes(8).readBigUInt64BE(0) | 1n;
  const client = new P4RuntimeClient({ ...o, role: READ_ONLY_ROLE, electionId });
  try {
    await client.connect();
    await client.arbitrate().catch(() => undefined);
    return client;
  } catch (e) {
    await client.close();
    throw e;
  }
}
