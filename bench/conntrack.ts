// Conntrack entries on the nodes: the per-connection state kube-proxy's modes
// create and Talaria's does not. Memory is entries x the slab object size.
import { readFileSync } from 'node:fs';
import { runInNetns } from '../testbed/run-in-netns.js';

/** Size of one conntrack entry in the kernel's slab, or a typical 320 bytes when slabinfo is unreadable. */
export function conntrackObjectSize(slabinfo?: string): number {
  let text = slabinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/slabinfo', 'utf8');
    } catch {
      return 320;
    }
  }
  const line = text.split('\n').find((l) => l.startsWith('nf_conntrack '));
  const size = line ? Number(line.trim().split(/\s+/)[3]) : NaN;
  return Number.isFinite(size) && size > 0 ? size : 320;
}

/** Entries in one network namespace's conntrack table (0 when conntrack is not loaded there). */
export async function conntrackCount(netns: string): Promise<number> {
  const res = await runInNetns(netns, ['conntrack', '-C'], 10_000);
  const n = Number(res.stdout.trim());
  if (res.code !== 0 || !Number.isInteger(n)) throw new Error(`conntrack -C in ${netns}: ${res.stderr.trim() || res.stdout.trim()}`);
  return n;
}
