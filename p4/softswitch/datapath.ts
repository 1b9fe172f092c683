// The software switch's data plane: bpf/switch.bpf.c loaded with every map
// pinned under the pin directory (reused when the pins are there, so a
// restarted switch keeps forwarding with the state it had), typed map handles,
// and the TC attachment to the switch's ports.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  attachTc,
  BpfObject,
  detachTc,
  ifIndex,
  removePinDir,
  unpin,
  withNetns,
  type BpfMap,
  type BpfProgram,
  type TcAttachment,
} from '../../bpf/loader/index.js';
import { SWITCH_MAPS, type Counter, type Port, type SwitchMapName } from '../../bpf/layouts/switch-maps.js';
import type { Codec, CodecValue } from '../../bpf/loader/codec.js';
import { LutWriter } from './lut-writer.js';

/** The repository root, from sources (p4/softswitch) and from dist/ alike. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('/dist')) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

/** The compiled program (make -C bpf): build/bpf/switch.bpf.o in the repository. */
export const SWITCH_OBJECT = join(repoRoot(), 'build', 'bpf', 'switch.bpf.o');
/** The TC program's C function name. */
export const SWITCH_PROGRAM = 'talaria_switch';

type MapDef<N extends SwitchMapName> = (typeof SWITCH_MAPS)[N];
type KeyOf<N extends SwitchMapName> = CodecValue<MapDef<N>['key']>;
type ValueOf<N extends SwitchMapName> = MapDef<N>['perCpu'] extends true ? CodecValue<MapDef<N>['value']>[] : CodecValue<MapDef<N>['value']>;

/** Every map of the switch, typed by its layout in bpf/layouts/switch-maps.ts. */
export type SwitchMaps = { readonly [N in SwitchMapName]: BpfMap<KeyOf<N>, ValueOf<N>> };

/** A port the switch cannot use (missing interface): the user's input, not a bug. */
export class PortError extends Error {
  override name = 'PortError';
}

/** One switch port: P4 port number (1-based, the order of --ports) and its interface. */
export interface SwitchPort {
  readonly port: number;
  readonly ifname: string;
}

export interface DatapathOptions {
  /** Where the maps are pinned (reused if present); none: unpinned (tests). */
  readonly pinDir?: string;
  /** The object file; default SWITCH_OBJECT. */
  readonly objectPath?: string;
}

export class SwitchDatapath {
  private readonly attachments: { ifname: string; netns: string | undefined }[] = [];
  private lut: LutWriter | undefined;

  private constructor(
    readonly object: BpfObject,
    readonly program: BpfProgram,
    readonly maps: SwitchMaps,
    readonly pinDir: string | undefined,
  ) {}

  /** Loads the program, creating or reusing the pinned maps. */
  static load(opts: DatapathOptions = {}): SwitchDatapath {
    const path = opts.objectPath ?? SWITCH_OBJECT;
    if (!existsSync(path)) throw new Error(`${path} is missing: build it with make -C bpf`);
    // A pin left by an older build with another layout cannot be used: it is
    // replaced (its entries are lost; the controller's reconcile rewrites them).
    const object = BpfObject.open(path, opts.pinDir ? { pinDir: opts.pinDir, replaceIncompatiblePins: true } : {});
    try {
      const maps = {} as Record<string, unknown>;
      for (const [name, def] of Object.entries(SWITCH_MAPS) as [string, { key: Codec<unknown>; value: Codec<unknown>; perCpu: boolean }][]) {
        maps[name] = def.perCpu ? object.perCpuMap(name, def.key, def.value) : object.map(name, def.key, def.value);
      }
      return new SwitchDatapath(object, object.program(SWITCH_PROGRAM), maps as SwitchMaps, opts.pinDir);
    } catch (e) {
      object.close();
      throw e;
    }
  }

  /**
   * Fills the ports map and attaches the program to the TC ingress of every
   * port, inside `netns` when given. The ports' source MACs are not the
   * interfaces' own: like a P4 target's, they come from the egress_ports
   * table the controller writes.
   */
  attach(ports: readonly SwitchPort[], netns?: string): TcAttachment[] {
    const out: TcAttachment[] = [];
    for (const p of ports) {
      const ifindex = withNetns(netns, () => ifIndex(p.ifname));
      if (!ifindex) throw new PortError(`switch port ${p.port}: no interface ${p.ifname}${netns ? ` in netns ${netns}` : ''}`);
      this.maps.ports.update(p.port, { ifindex } satisfies Port);
    }
    for (const p of ports) {
      out.push(attachTc({ ifname: p.ifname, direction: 'ingress', netns, program: this.program }));
      this.attachments.push({ ifname: p.ifname, netns });
    }
    return out;
  }

  /** The switch's own addresses: packets for them go to its kernel. */
  setLocalAddresses(addrs: readonly string[]): void {
    this.maps.local_addrs.clear();
    for (const a of addrs) this.maps.local_addrs.update(a, 1);
  }

  /** Writes Maglev tables into maglev_lut (mmapped on first use). */
  lutWriter(): LutWriter {
    this.lut ??= new LutWriter(this.maps.maglev_lut);
    return this.lut;
  }

  /** Detaches from every port attached by this instance (pins stay). */
  detach(): void {
    for (const a of this.attachments.splice(0)) {
      try {
        detachTc({ ifname: a.ifname, direction: 'ingress', netns: a.netns });
      } catch {
        // The interface (or namespace) is gone already: nothing left to detach.
      }
    }
  }

  /** Closes the object; with `removePins` the pinned maps go too (state lost). */
  close(opts: { removePins?: boolean } = {}): void {
    this.detach();
    this.lut?.close();
    this.lut = undefined;
    const pins = Object.keys(SWITCH_MAPS).map((name) => this.object.pinPath(name));
    this.object.close();
    if (opts.removePins && this.pinDir) {
      // Only the switch's own pins: the directory may be shared (the default /sys/fs/bpf/talaria).
      for (const path of pins) if (path) unpin(path);
      if (existsSync(this.pinDir) && readdirSync(this.pinDir).length === 0) removePinDir(this.pinDir);
    }
  }
}

/** An interface's MAC, via `ip -j link` in the namespace (a name or a path). */

/** Sums a per-CPU counter. */
export function sumCounter(values: readonly Counter[] | undefined): { packets: bigint; bytes: bigint } {
  let packets = 0n;
  let bytes = 0n;
  for (const v of values ?? []) {
    packets += v.packets;
    bytes += v.bytes;
  }
  return { packets, bytes };
}
