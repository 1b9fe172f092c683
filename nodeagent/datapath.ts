// The host programs as the agent sees them: the object loaded with its maps
// pinned under --pin-dir (reused when they are already there, so a restarted
// agent keeps every connection), typed maps, and idempotent TC attach and
// detach (a fixed handle/priority with REPLACE swaps programs atomically).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfObject, type PinMigration } from '../bpf/loader/object.js';
import type { BpfMap } from '../bpf/loader/map.js';
import type { BpfProgram } from '../bpf/loader/program.js';
import { attachTc, detachTc, queryTc } from '../bpf/loader/tc.js';
import type { TcAttachment } from '../bpf/loader/tc.js';
import { unpin } from '../bpf/loader/pin.js';
import { ipv4, u64 } from '../bpf/loader/codec.js';
import {
  HOST_MAPS,
  HOST_PROGRAMS,
  hostAffinityKey,
  hostConfig,
  hostConn,
  hostFlow,
  hostFrontend,
  hostFrontendKey,
  hostIndex,
  hostLocalBackend,
  hostLocalBackendKey,
  hostPod,
  hostReply,
} from '../bpf/layouts/host-maps.js';
import type {
  HostAffinityKey,
  HostConfig,
  HostConn,
  HostFlow,
  HostFrontend,
  HostFrontendKey,
  HostLocalBackend,
  HostLocalBackendKey,
  HostPod,
  HostReply,
} from '../bpf/layouts/host-maps.js';

/** Handle/priority of the agent's TC filters (one per hook). */
export const TC_HANDLE = 0x7a1;
export const TC_PRIORITY = 1;

/**
 * Where the compiled object is: build/bpf/host.bpf.o of the checkout this
 * file lives in (from sources or from dist/). In a checkout with the bpf/
 * sources it is (re)built with make first when missing or when `rebuild`
 * asks for it (make only recompiles a stale object).
 */
export function defaultObjectPath(opts: { rebuild?: boolean } = {}): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'build', 'bpf', 'host.bpf.o');
    const sources = existsSync(join(dir, 'bpf', 'Makefile')) && existsSync(join(dir, 'bpf', 'host.bpf.c'));
    if (sources && (opts.rebuild || !existsSync(p))) {
      execFileSync('make', ['-s', '-C', join(dir, 'bpf'), '../build/bpf/host.bpf.o'], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return resolve('build/bpf/host.bpf.o');
}

export type HostProgram = keyof typeof HOST_PROGRAMS;

export class HostDatapath {
  readonly config: BpfMap<number, HostConfig>;
  readonly pods: BpfMap<string, HostPod>;
  readonly frontends: BpfMap<HostFrontendKey, HostFrontend>;
  readonly localBackends: BpfMap<HostLocalBackendKey, HostLocalBackend>;
  readonly conns: BpfMap<HostFlow, HostConn>;
  readonly replies: BpfMap<HostFlow, HostReply>;
  readonly affinity: BpfMap<HostAffinityKey, HostConn>;
  readonly drops: BpfMap<number, bigint[]>;
  readonly events: BpfMap<number, bigint[]>;
  readonly programs: Readonly<Record<HostProgram, BpfProgram>>;

  private constructor(
    private readonly object: BpfObject,
    readonly pinDir: string | undefined,
    readonly netns: string | undefined,
  ) {
    const o = object;
    this.config = o.map(HOST_MAPS.config, hostIndex, hostConfig);
    this.pods = o.map(HOST_MAPS.pods, ipv4, hostPod);
    this.frontends = o.map(HOST_MAPS.frontends, hostFrontendKey, hostFrontend);
    this.localBackends = o.map(HOST_MAPS.localBackends, hostLocalBackendKey, hostLocalBackend);
    this.conns = o.map(HOST_MAPS.conns, hostFlow, hostConn);
    this.replies = o.map(HOST_MAPS.replies, hostFlow, hostReply);
    this.affinity = o.map(HOST_MAPS.affinity, hostAffinityKey, hostConn);
    this.drops = o.perCpuMap(HOST_MAPS.drops, hostIndex, u64);
    this.events = o.perCpuMap(HOST_MAPS.events, hostIndex, u64);
    this.programs = { fromPod: o.program(HOST_PROGRAMS.fromPod), fromUplink: o.program(HOST_PROGRAMS.fromUplink) };
  }

  /**
   * Loads the object; with a pin dir its maps are pinned there, or reused
   * when pins exist (restart), and the programs are pinned beside them.
   */
  static open(opts: { objectPath?: string; pinDir?: string; netns?: string; maxEntries?: Readonly<Record<string, number>> }): HostDatapath {
    const object = BpfObject.open(opts.objectPath ?? defaultObjectPath(), { ...(opts.pinDir ? { pinDir: opts.pinDir } : {}), ...(opts.maxEntries ? { maxEntries: opts.maxEntries } : {}) });
    try {
      const dp = new HostDatapath(object, opts.pinDir, opts.netns);
      if (opts.pinDir) {
        for (const p of Object.values(dp.programs)) {
          const path = `${opts.pinDir}/${p.name}`;
          unpin(path);
          p.pin(path);
        }
      }
      return dp;
    } catch (e) {
      object.close();
      throw e;
    }
  }

  /** Pins of an older map layout whose entries open() moved into the new maps (an upgrade). */
  get migrations(): readonly PinMigration[] {
    return this.object.migrations;
  }

  mapCapacity(name: string): number {
    return this.object.mapInfo(name).maxEntries;
  }

  /** Attaches (or atomically replaces) a program on an interface's TC ingress. */
  attach(ifname: string, program: HostProgram): TcAttachment {
    return attachTc({ ifname, direction: 'ingress', netns: this.netns, handle: TC_HANDLE, priority: TC_PRIORITY, program: this.programs[program] });
  }

  /** The id of the program attached by the agent on an interface, if any. */
  attachedProgramId(ifname: string): number | undefined {
    return queryTc({ ifname, direction: 'ingress', netns: this.netns, handle: TC_HANDLE, priority: TC_PRIORITY });
  }

  /** Removes the agent's filter; false when there was none. */
  detach(ifname: string): boolean {
    return detachTc({ ifname, direction: 'ingress', netns: this.netns, handle: TC_HANDLE, priority: TC_PRIORITY });
  }

  /** Sum over CPUs of a per-CPU counter array, by index. */
  static sumCounters(map: BpfMap<number, bigint[]>, count: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const v = map.lookup(i);
      out.push(v ? Number(v.reduce((a, b) => a + b, 0n)) : 0);
    }
    return out;
  }

  /** Releases the object (attached programs and pinned maps stay). */
  close(): void {
    this.object.close();
  }
}
