// Writes Maglev lookup tables (M u32 slots each) into maglev_lut. The map is
// BPF_F_MMAPABLE: the table is written with plain stores into the shared
// mapping, which costs next to nothing next to 1021 map updates; the
// group_luts update that publishes the table afterwards is a syscall, which
// orders the stores before it. Without mmap (an older pinned map), one
// BPF_MAP_UPDATE_BATCH per table.
import koffi from 'koffi';
import { BPF_ANY, type BpfMap } from '../../bpf/loader/index.js';
import { mapCallError } from '../../bpf/loader/errors.js';
import { lib } from '../../bpf/loader/libbpf.js';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;
const BPF_F_MMAPABLE = 1 << 10;

interface Mman {
  mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => bigint;
  munmap: (addr: bigint, len: number) => number;
}
let mman: Mman | undefined;
function libcMman(): Mman {
  if (mman) return mman;
  const so = koffi.load('libc.so.6');
  mman = { mmap: so.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)'), munmap: so.func('int munmap(void *addr, size_t len)') };
  return mman;
}

const batchOpts = Buffer.alloc(24);
batchOpts.writeBigUInt64LE(24n, 0);
batchOpts.writeBigUInt64LE(BigInt(BPF_ANY), 8);

export class LutWriter {
  private view: Uint32Array | undefined;
  private addr = 0n;
  private len = 0;

  constructor(private readonly map: BpfMap<number, number>) {
    if ((map.info.flags & BPF_F_MMAPABLE) === 0) return;
    // Array elements are laid out at round_up(value_size, 8): a u32 every 8 bytes.
    const len = Math.ceil((map.info.maxEntries * 8) / 4096) * 4096;
    const m = libcMman();
    const addr = m.mmap(null, len, PROT_READ | PROT_WRITE, MAP_SHARED, map.fd, 0);
    if (!addr || addr === MAP_FAILED) return;
    this.addr = addr;
    this.len = len;
    this.view = new Uint32Array(koffi.view(addr, len) as ArrayBuffer, 0, map.info.maxEntries * 2);
  }

  /** maglev_lut[base + i] = memberSlots[table[i]] for every i. */
  write(base: number, table: Uint32Array, memberSlots: readonly number[]): void {
    if (this.view) {
      const v = this.view;
      for (let i = 0; i < table.length; i++) v[(base + i) * 2] = memberSlots[table[i]!]!;
      return;
    }
    const keys = new Uint32Array(table.length);
    const values = new Uint32Array(table.length);
    for (let i = 0; i < table.length; i++) {
      keys[i] = base + i;
      values[i] = memberSlots[table[i]!]!;
    }
    const count = new Uint32Array([table.length]);
    const ret = lib().bpf_map_update_batch(this.map.fd, Buffer.from(keys.buffer), Buffer.from(values.buffer), count, batchOpts);
    if (ret === -524 || ret === -95) {
      for (let i = 0; i < table.length; i++) this.map.update(keys[i]!, values[i]!);
      return;
    }
    if (ret < 0) throw mapCallError('bpf_map_update_batch', this.map.name, ret, count[0]);
  }

  get mmapped(): boolean {
    return this.view !== undefined;
  }

  /** Unmaps (the mapping would otherwise keep the map alive after its object closes). */
  close(): void {
    if (this.view) libcMman().munmap(this.addr, this.len);
    this.view = undefined;
  }
}
