// Generated and mutated packets for fuzzing the TC programs through
// BPF_PROG_TEST_RUN: valid seeds bent every way a wire can bend them
// (truncated headers, wrong IHL and lengths, IP options of every length,
// shims of every kind, version and length, fragments, zero and huge ports,
// VLAN tags, IPv6, ARP, garbage). Deterministic for a seed.
import { TALARIA_OPT6_TYPE, TALARIA_OPT_LEN, TALARIA_OPT_TYPE } from '../layouts/shim.js';
import { ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, IPPROTO_DSTOPTS } from './packet-builder.js';
import { ipv4, mac } from '../loader/codec.js';
import { TC_ACT, runProgram } from '../loader/test-run.js';
import type { ProgramRef } from '../loader/program.js';
import { Random } from './random.js';

const ETH = 14;
const ETH_P_8021Q = 0x8100;

/** The IPv4 header's offset and length in a frame (undefined: not IPv4 or too short). */
function ipv4At(b: Buffer): { off: number; ihl: number } | undefined {
  if (b.length < ETH + 20 || b.readUInt16BE(12) !== ETH_P_IP) return undefined;
  return { off: ETH, ihl: b[ETH]! & 0xf };
}

/** Whether a frame carries Talaria's shim (an IPv4 option or an IPv6 destination option), as a receiver would see it. */
export function carriesShim(b: Buffer): boolean {
  if (b.length < ETH) return false;
  const type = b.readUInt16BE(12);
  if (type === ETH_P_IP && b.length >= ETH + 21) return (b[ETH]! & 0xf) > 5 && b[ETH + 20] === TALARIA_OPT_TYPE;
  if (type === ETH_P_IPV6 && b.length >= ETH + 43) return b[ETH + 6] === IPPROTO_DSTOPTS && b[ETH + 42] === TALARIA_OPT6_TYPE;
  return false;
}

/**
 * Whether BPF_PROG_TEST_RUN takes the frame: it refuses (EINVAL) one shorter
 * than an Ethernet header, and an IPv4 or IPv6 one without the whole IP
 * header its EtherType names. Frames cut shorter than that are left out;
 * everything from the IP header on is fuzzed.
 */
export function testRunnable(b: Buffer): boolean {
  if (b.length < ETH) return false;
  const type = b.readUInt16BE(12);
  return type === ETH_P_IP ? b.length >= ETH + 20 : type === ETH_P_IPV6 ? b.length >= ETH + 40 : true;
}

const MUTATIONS = [
  'as-is',
  'truncate',
  'flip-bytes',
  'ihl',
  'ip-options',
  'shim-fields',
  'total-length',
  'fragment',
  'ports',
  'vlan',
  'ethertype',
  'garbage',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** One mutation of `seed` (a fresh buffer; the seed is not touched). */
export function mutatePacket(seed: Buffer, r: Random, kind: Mutation = r.pick(MUTATIONS)): Buffer {
  const b = Buffer.from(seed);
  const ip = ipv4At(b);
  switch (kind) {
    case 'as-is':
      return b;
    case 'truncate':
      return b.subarray(0, r.below(b.length + 1));
    case 'flip-bytes': {
      // Mostly in the headers, where the parsers look.
      for (let i = 1 + r.below(4); i > 0; i--) b[r.below(Math.min(b.length, r.chance(0.8) ? 70 : b.length))] ^= 1 + r.below(255);
      return b;
    }
    case 'ihl':
      if (ip) b[ip.off] = (b[ip.off]! & 0xf0) | r.below(16);
      return b;
    case 'ip-options': {
      if (!ip) return b;
      // Options of 1..40 bytes after the 20-byte header: a shim first or not, any content.
      const len = 1 + r.below(40);
      const opts = r.bytes(len);
      if (r.chance(0.3)) opts[0] = TALARIA_OPT_TYPE;
      const words = Math.min(15, 5 + Math.ceil(len / 4));
      const out = Buffer.concat([b.subarray(0, ip.off + 20), opts, Buffer.alloc((words - 5) * 4 - len), b.subarray(ip.off + ip.ihl * 4)]);
      out[ip.off] = 0x40 | (r.chance(0.8) ? words : r.below(16));
      out.writeUInt16BE(Math.min(0xffff, out.length - ETH), ip.off + 2);
      return out;
    }
    case 'shim-fields': {
      if (!ip || b.length < ip.off + 20 + TALARIA_OPT_LEN) return b;
      const s = ip.off + 20;
      b[s] = r.chance(0.7) ? TALARIA_OPT_TYPE : r.below(256);
      // length, then the kind/version byte and the ids: any of them any value.
      const field = r.pick([1, 2, 3, 4, 6, 8]);
      b[s + field] = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 0x0f, 0xf0, 0xff, r.below(256)]);
      return b;
    }
    case 'total-length':
      if (ip) b.writeUInt16BE(r.pick([0, 1, 19, 20, ip.ihl * 4, b.length - ETH - 1, b.length - ETH + 1, 0xffff, r.below(0x10000)]), ip.off + 2);
      return b;
    case 'fragment':
      if (ip) b.writeUInt16BE(r.pick([0x2000, 0x2000 | (1 + r.below(0x1fff)), 1 + r.below(0x1fff), 0x4000, 0xe000 | r.below(0x2000)]), ip.off + 6);
      return b;
    case 'ports': {
      if (!ip) return b;
      const l4 = ip.off + ip.ihl * 4;
      const at = l4 + (r.chance(0.5) ? 0 : 2);
      if (b.length >= at + 2) b.writeUInt16BE(r.pick([0, 1, 65535, r.below(65536)]), at);
      return b;
    }
    case 'vlan': {
      // An 802.1Q tag between the MACs and the EtherType.
      const tag = Buffer.alloc(4);
      tag.writeUInt16BE(ETH_P_8021Q, 0);
      tag.writeUInt16BE(r.below(4096), 2);
      return Buffer.concat([b.subarray(0, 12), tag, b.subarray(12)]);
    }
    case 'ethertype':
      if (b.length >= ETH) b.writeUInt16BE(r.pick([ETH_P_IPV6, ETH_P_ARP, ETH_P_8021Q, 0x88a8, 0, 0xffff]), 12);
      return b;
    case 'garbage':
      return r.bytes(r.below(200));
  }
}

/** What a fuzz run saw: verdicts by name, property violations, and frames test-run cannot take. */
export interface FuzzRun {
  verdicts: { pass: number; drop: number; redirect: number; other: number };
  problems: string[];
  unrunnable: number;
}

/**
 * Feeds `packets` mutations of the seeds to `program` (stopping at 10
 * violations). `check` names what is wrong with one outcome, or returns
 * nothing; a verdict other than pass, drop or redirect is always wrong.
 */
export function fuzzProgram(
  program: ProgramRef,
  seeds: readonly Buffer[],
  o: { seed: number; packets: number; check(input: Buffer, verdict: number, out: Buffer): string | undefined },
): FuzzRun {
  const r = new Random(o.seed);
  const run: FuzzRun = { verdicts: { pass: 0, drop: 0, redirect: 0, other: 0 }, problems: [], unrunnable: 0 };
  for (let i = 0; i < o.packets && run.problems.length < 10; i++) {
    const input = mutatePacket(r.pick(seeds), r);
    if (!testRunnable(input)) {
      run.unrunnable++;
      continue;
    }
    const { verdict, packet: out } = runProgram(program, input);
    const name = verdict === TC_ACT.OK ? 'pass' : verdict === TC_ACT.SHOT ? 'drop' : verdict === TC_ACT.REDIRECT ? 'redirect' : 'other';
    run.verdicts[name]++;
    const problem = name === 'other' ? `verdict ${verdict}` : o.check(input, verdict, out);
    if (problem) run.problems.push(`${problem}: packet ${i} (seed ${o.seed}): ${input.toString('hex').slice(0, 160)}`);
  }
  return run;
}

/** A frame's MAC at `off` (0: destination, 6: source). */
export const macAt = (b: Buffer, off: number): string => (b.length >= off + 6 ? mac.decode(b, off) : '');

/** An IPv4 frame's source and destination addresses (undefined: not IPv4). */
export const ipv4Src = (b: Buffer): string | undefined => (b.length >= ETH + 20 && b.readUInt16BE(12) === ETH_P_IP ? ipv4.decode(b, ETH + 12) : undefined);
export const ipv4Dst = (b: Buffer): string | undefined => (b.length >= ETH + 20 && b.readUInt16BE(12) === ETH_P_IP ? ipv4.decode(b, ETH + 16) : undefined);
