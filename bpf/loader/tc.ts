// TC (clsact) attach and detach, by interface name, inside a network
// namespace. Idempotent: a filter is identified by a fixed handle and
// priority and attached with BPF_TC_F_REPLACE, so attaching twice leaves one
// filter running the latest program, and detaching what is not there is fine.
import { BpfError, EEXIST, EINVAL, ENODEV, ENOENT } from './errors.js';
import { lib } from './libbpf.js';
import { captureLibbpfLog } from './libbpf-log.js';
import { ifIndex, withNetns } from './netns.js';
import type { ProgramRef } from './program.js';

export type TcDirection = 'ingress' | 'egress';

/** Where a filter lives; handle and priority default to 1. */
export interface TcTarget {
  ifname: string;
  direction: TcDirection;
  /** `ip netns` name or path; the current namespace when omitted. */
  netns?: string;
  handle?: number;
  priority?: number;
}

export interface TcAttachment {
  readonly ifname: string;
  readonly ifindex: number;
  readonly direction: TcDirection;
  readonly netns: string | undefined;
  readonly handle: number;
  readonly priority: number;
  /** Kernel id of the attached program. */
  readonly progId: number;
}

const BPF_TC_INGRESS = 1;
const BPF_TC_EGRESS = 2;
const BPF_TC_F_REPLACE = 1;
export const DEFAULT_TC_HANDLE = 1;
export const DEFAULT_TC_PRIORITY = 1;

function where(t: { ifname: string; netns?: string }, direction?: TcDirection): string {
  return `${t.ifname}${direction ? ` ${direction}` : ''}${t.netns ? ` in netns ${t.netns}` : ''}`;
}

function hookFor(t: { ifname: string; netns?: string }, attachPoint: number, call: string): { hook: Buffer; ifindex: number } {
  // libbpf would print the kernel's "Parent Qdisc doesn't exists" of every query on a bare interface to stderr.
  captureLibbpfLog();
  const ifindex = ifIndex(t.ifname);
  if (!ifindex) throw new BpfError({ call, object: where(t), errno: ENODEV });
  // struct bpf_tc_hook { size_t sz; int ifindex; enum attach_point; __u32 parent; }
  const hook = Buffer.alloc(24);
  hook.writeBigUInt64LE(24n, 0);
  hook.writeInt32LE(ifindex, 8);
  hook.writeUInt32LE(attachPoint, 12);
  return { hook, ifindex };
}

function tcOpts(handle: number, priority: number, progFd = 0, flags = 0): Buffer {
  // struct bpf_tc_opts { size_t sz; int prog_fd; __u32 flags, prog_id, handle, priority; }
  const o = Buffer.alloc(32);
  o.writeBigUInt64LE(32n, 0);
  o.writeInt32LE(progFd, 8);
  o.writeUInt32LE(flags, 12);
  o.writeUInt32LE(handle, 20);
  o.writeUInt32LE(priority, 24);
  return o;
}

const point = (d: TcDirection): number => (d === 'ingress' ? BPF_TC_INGRESS : BPF_TC_EGRESS);

/** Attaches (or replaces) a program on clsact ingress/egress, creating the clsact qdisc if needed. */
export function attachTc(target: TcTarget & { program: ProgramRef }): TcAttachment {
  const handle = target.handle ?? DEFAULT_TC_HANDLE;
  const priority = target.priority ?? DEFAULT_TC_PRIORITY;
  const progFd = target.program.fd;
  return withNetns(target.netns, () => {
    const l = lib();
    const { hook, ifindex } = hookFor(target, point(target.direction), 'bpf_tc_attach');
    let ret = l.bpf_tc_hook_create(hook);
    if (ret < 0 && ret !== -EEXIST) throw new BpfError({ call: 'bpf_tc_hook_create', object: where(target, target.direction), errno: -ret });
    const opts = tcOpts(handle, priority, progFd, BPF_TC_F_REPLACE);
    ret = l.bpf_tc_attach(hook, opts);
    if (ret < 0) throw new BpfError({ call: 'bpf_tc_attach', object: `${target.program.name} on ${where(target, target.direction)}`, errno: -ret });
    return { ifname: target.ifname, ifindex, direction: target.direction, netns: target.netns, handle, priority, progId: opts.readUInt32LE(16) };
  });
}

/** Detaches the filter at (handle, priority); false when there was none (or no clsact qdisc). */
export function detachTc(target: TcTarget): boolean {
  return withNetns(target.netns, () => {
    const { hook } = hookFor(target, point(target.direction), 'bpf_tc_detach');
    const ret = lib().bpf_tc_detach(hook, tcOpts(target.handle ?? DEFAULT_TC_HANDLE, target.priority ?? DEFAULT_TC_PRIORITY));
    if (ret === -ENOENT || ret === -EINVAL) return false;
    if (ret < 0) throw new BpfError({ call: 'bpf_tc_detach', object: where(target, target.direction), errno: -ret });
    return true;
  });
}

/** The id of the program at (handle, priority), or undefined when none is attached there. */
export function queryTc(target: TcTarget): number | undefined {
  return withNetns(target.netns, () => {
    const { hook } = hookFor(target, point(target.direction), 'bpf_tc_query');
    const opts = tcOpts(target.handle ?? DEFAULT_TC_HANDLE, target.priority ?? DEFAULT_TC_PRIORITY);
    const ret = lib().bpf_tc_query(hook, opts);
    if (ret === -ENOENT || ret === -EINVAL) return undefined;
    if (ret < 0) throw new BpfError({ call: 'bpf_tc_query', object: where(target, target.direction), errno: -ret });
    return opts.readUInt32LE(16);
  });
}

/** Removes the clsact qdisc (and with it every filter on both directions); false when there was none. */
export function destroyClsact(target: { ifname: string; netns?: string }): boolean {
  return withNetns(target.netns, () => {
    const { hook } = hookFor(target, BPF_TC_INGRESS | BPF_TC_EGRESS, 'bpf_tc_hook_destroy');
    const ret = lib().bpf_tc_hook_destroy(hook);
    if (ret === -ENOENT || ret === -EINVAL) return false;
    if (ret < 0) throw new BpfError({ call: 'bpf_tc_hook_destroy', object: where(target), errno: -ret });
    return true;
  });
}
