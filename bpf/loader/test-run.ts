// Runs a program on a packet in the kernel with BPF_PROG_TEST_RUN: no
// interface, no namespace, just the verdict, the packet as the program left it
// and the time it took. The table-driven packet tests of the data planes use it.
import { BpfError } from './errors.js';
import { addressOf, lib } from './libbpf.js';
import type { ProgramRef } from './program.js';

/** TC verdicts (linux/pkt_cls.h). */
export const TC_ACT = { UNSPEC: -1, OK: 0, RECLASSIFY: 1, SHOT: 2, PIPE: 3, STOLEN: 4, QUEUED: 5, REPEAT: 6, REDIRECT: 7 } as const;
/** XDP verdicts (enum xdp_action). */
export const XDP_ACT = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;

export interface TestRunOptions {
  /** Runs the program this many times (the duration is the average); default 1. */
  repeat?: number;
  /** Input context (struct __sk_buff for TC: mark, ifindex, cb...). */
  ctx?: Buffer;
  /** Room for the output packet; default input length + 1024 (encapsulation may grow it). */
  maxOutput?: number;
}

export interface TestRunResult {
  /** The program's return value (TC_ACT_* / XDP_*). */
  verdict: number;
  /** The packet after the program ran. */
  packet: Buffer;
  /** Average run time per repetition, in nanoseconds. */
  durationNs: number;
  /** The output context, when a ctx was given. */
  ctx?: Buffer;
}

/** Runs `prog` on `packet` (an Ethernet frame for TC and XDP programs). */
export function runProgram(prog: ProgramRef, packet: Buffer, opts: TestRunOptions = {}): TestRunResult {
  const out = Buffer.alloc(opts.maxOutput ?? packet.length + 1024);
  const ctxOut = opts.ctx ? Buffer.alloc(opts.ctx.length) : undefined;
  // struct bpf_test_run_opts (libbpf 1.1, x86-64), 80 bytes.
  const o = Buffer.alloc(80);
  o.writeBigUInt64LE(80n, 0);
  o.writeBigUInt64LE(addressOf(packet), 8);
  o.writeBigUInt64LE(addressOf(out), 16);
  o.writeUInt32LE(packet.length, 24);
  o.writeUInt32LE(out.length, 28);
  if (opts.ctx && ctxOut) {
    o.writeBigUInt64LE(addressOf(opts.ctx), 32);
    o.writeBigUInt64LE(addressOf(ctxOut), 40);
    o.writeUInt32LE(opts.ctx.length, 48);
    o.writeUInt32LE(ctxOut.length, 52);
  }
  o.writeInt32LE(opts.repeat ?? 1, 60);
  const ret = lib().bpf_prog_test_run_opts(prog.fd, o);
  if (ret < 0) throw new BpfError({ call: 'bpf_prog_test_run_opts', object: prog.name, errno: -ret, detail: `packet of ${packet.length} bytes` });
  return {
    verdict: o.readInt32LE(56),
    packet: Buffer.from(out.subarray(0, o.readUInt32LE(28))),
    durationNs: o.readUInt32LE(64),
    ...(ctxOut ? { ctx: ctxOut.subarray(0, o.readUInt32LE(52)) } : {}),
  };
}
