// What the design promises in talaria mode, checked after the suite has run:
// no host conntrack entry for service traffic on any node.
import { AssertionError } from 'node:assert';
import { runInNetns } from '../testbed/run-in-netns.js';
import type { E2eContext } from './context.js';

const SERVICE_CIDR_PREFIX = /^10\.(9[6-9]|10[0-9]|11[01])\./; // 10.96.0.0/12

/** Conntrack entries whose original destination is a ClusterIP, in `conntrack -L` text. */
export function serviceEntries(conntrackList: string): string[] {
  return conntrackList.split('\n').filter((l) => {
    const dst = /\bdst=(\S+)/.exec(l)?.[1];
    return dst !== undefined && SERVICE_CIDR_PREFIX.test(dst);
  });
}

export async function assertNoServiceConntrack(ctx: E2eContext): Promise<string> {
  let total = 0;
  for (const node of ctx.tb.nodes) {
    const res = await runInNetns(node.netns, ['conntrack', '-L'], 30_000);
    const entries = serviceEntries(res.stdout);
    if (entries.length) throw new AssertionError({ message: `${node.name} holds ${entries.length} conntrack entries for service traffic, e.g. ${entries[0].trim()}` });
    total += res.stdout.split('\n').filter(Boolean).length;
  }
  return `0 service entries on ${ctx.tb.nodes.length} nodes (${total} other entries)`;
}
