// A BPF map seen through typed key/value codecs. Calls go straight to the
// low-level libbpf wrappers on the map fd (bpf_map_update_elem & co.) with
// per-map scratch buffers: no allocation per call on the hot paths.
import type { Codec } from './codec.js';
import { perCpuCodec } from './codec.js';
import { BpfError, EINVAL, ENOENT, ENOTSUPP, EOPNOTSUPP, WrongSizeError, mapCallError } from './errors.js';
import { lib } from './libbpf.js';
import { openPinnedFd, pinFd, unpin } from './pin.js';
import { closeSync } from 'node:fs';

/** Update flags (linux/bpf.h). */
export const BPF_ANY = 0;
/** Create only: EEXIST (KeyExistsError) when the key is there. */
export const BPF_NOEXIST = 1;
/** Replace only: ENOENT (KeyNotFoundError) when the key is missing. */
export const BPF_EXIST = 2;
export type UpdateFlags = typeof BPF_ANY | typeof BPF_NOEXIST | typeof BPF_EXIST;

/** The map types Talaria uses (enum bpf_map_type). */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  DEVMAP: 14,
  RINGBUF: 27,
} as const;

const PER_CPU_TYPES: ReadonlySet<number> = new Set([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH, 21 /* PERCPU_CGROUP_STORAGE */]);

/** Whether the kernel stores one value per possible CPU for this map type. */
export function isPerCpuMapType(type: number): boolean {
  return PER_CPU_TYPES.has(type);
}

/** What the kernel says about a map. */
export interface MapInfo {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** The kernel's BTF of the map's key and value (0: created without BTF); kernel-read maps only. */
  readonly btfId?: number;
  readonly btfKeyTypeId?: number;
  readonly btfValueTypeId?: number;
}

const BATCH_CHUNK = 8192;

let cpuCount: number | undefined;
/** The number of possible CPUs: the length of every per-CPU value. */
export function possibleCpus(): number {
  if (cpuCount === undefined) {
    const n = lib().libbpf_num_possible_cpus();
    if (n <= 0) throw new BpfError({ call: 'libbpf_num_possible_cpus', object: '/sys/devices/system/cpu/possible', errno: -n });
    cpuCount = n;
  }
  return cpuCount;
}

/** Reads a map's type and sizes from the kernel (bpf_obj_get_info_by_fd). */
export function mapInfoByFd(fd: number, object: string): MapInfo {
  const info = Buffer.alloc(88);
  const len = new Uint32Array([info.length]);
  const ret = lib().bpf_obj_get_info_by_fd(fd, info, len);
  if (ret < 0) throw new BpfError({ call: 'bpf_obj_get_info_by_fd', object, errno: -ret });
  return {
    type: info.readUInt32LE(0),
    keySize: info.readUInt32LE(8),
    valueSize: info.readUInt32LE(12),
    maxEntries: info.readUInt32LE(16),
    flags: info.readUInt32LE(20),
    name: info.toString('utf8', 24, 40).replace(/\0.*$/s, ''),
    btfId: info.readUInt32LE(64),
    btfKeyTypeId: info.readUInt32LE(68),
    btfValueTypeId: info.readUInt32LE(72),
  };
}

/**
 * A map with typed keys and values. For per-CPU maps V is an array with one
 * element per possible CPU (see BpfObject.perCpuMap, BpfMap.openPinnedPerCpu).
 */
export class BpfMap<K, V> {
  readonly name: string;
  readonly info: MapInfo;
  readonly perCpu: boolean;
  private fdValue: number;
  private readonly ownsFd: boolean;
  private readonly kbuf: Buffer;
  private readonly kbuf2: Buffer;
  private readonly vbuf: Buffer;
  private batchSupported = true;
  private lookupBatchSupported = true;
  private deleteBatchSupported = true;

  /** Use BpfObject.map(), BpfMap.openPinned() and friends rather than this. */
  constructor(
    fd: number,
    info: MapInfo,
    readonly keyCodec: Codec<K>,
    readonly valueCodec: Codec<V>,
    opts: { ownsFd: boolean; call: string },
  ) {
    this.fdValue = fd;
    this.info = info;
    this.name = info.name;
    this.ownsFd = opts.ownsFd;
    this.perCpu = isPerCpuMapType(info.type);
    const expectedValue = this.perCpu ? Math.ceil(info.valueSize / 8) * 8 * possibleCpus() : info.valueSize;
    if (keyCodec.size !== info.keySize) {
      throw new WrongSizeError({ call: opts.call, object: info.name, what: 'key codec', expected: info.keySize, actual: keyCodec.size });
    }
    if (valueCodec.size !== expectedValue) {
      const elem = (valueCodec as { elementSize?: number }).elementSize;
      throw new WrongSizeError({ call: opts.call, object: info.name, what: 'value codec', expected: info.valueSize, actual: elem ?? valueCodec.size });
    }
    this.kbuf = Buffer.alloc(info.keySize);
    this.kbuf2 = Buffer.alloc(info.keySize);
    this.vbuf = Buffer.alloc(expectedValue);
  }

  /** Opens a pinned map (after a restart, say), checking the codecs against its sizes. */
  static openPinned<K, V>(path: string, keyCodec: Codec<K>, valueCodec: Codec<V>): BpfMap<K, V> {
    return BpfMap.fromOwnedFd(openPinnedFd(path), path, (info) => {
      if (isPerCpuMapType(info.type)) throw new BpfError({ call: 'BpfMap.openPinned', object: path, errno: 0, detail: 'per-CPU map: use BpfMap.openPinnedPerCpu()' });
      return [keyCodec, valueCodec] as const;
    });
  }

  /** Opens a pinned per-CPU map; values are arrays with one element per possible CPU. */
  static openPinnedPerCpu<K, V>(path: string, keyCodec: Codec<K>, valueCodec: Codec<V>): BpfMap<K, V[]> {
    return BpfMap.fromOwnedFd(openPinnedFd(path), path, (info) => {
      if (!isPerCpuMapType(info.type)) throw new BpfError({ call: 'BpfMap.openPinnedPerCpu', object: path, errno: 0, detail: 'not a per-CPU map: use BpfMap.openPinned()' });
      return [keyCodec, perCpuCodec(valueCodec, possibleCpus())] as const;
    });
  }

  private static fromOwnedFd<K, V>(fd: number, path: string, codecs: (info: MapInfo) => readonly [Codec<K>, Codec<V>]): BpfMap<K, V> {
    try {
      const info = mapInfoByFd(fd, path);
      const [kc, vc] = codecs(info);
      return new BpfMap(fd, info, kc, vc, { ownsFd: true, call: 'BpfMap.openPinned' });
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** The map's fd (for bpf_map__reuse_fd and the like); valid until close(). */
  get fd(): number {
    if (this.fdValue < 0) throw new BpfError({ call: 'BpfMap.fd', object: this.name, errno: 9 /* EBADF */, detail: 'map is closed' });
    return this.fdValue;
  }

  private encodeKey(key: K, buf: Buffer, call: string): void {
    this.encode(this.keyCodec, key, buf, call, 'key', this.info.keySize);
  }

  private encode<T>(codec: Codec<T>, value: T, buf: Buffer, call: string, what: string, expected: number, offset = 0): void {
    try {
      codec.encode(value, buf, offset);
    } catch (e) {
      if (e instanceof WrongSizeError) throw new WrongSizeError({ call, object: this.name, what, expected: e.expected === codec.size ? expected : e.expected, actual: e.actual });
      throw e;
    }
  }

  /** The value for a key, or undefined when the key is not in the map. */
  lookup(key: K): V | undefined {
    this.encodeKey(key, this.kbuf, 'bpf_map_lookup_elem');
    const ret = lib().bpf_map_lookup_elem(this.fd, this.kbuf, this.vbuf);
    if (ret === -2) return undefined;
    if (ret < 0) throw mapCallError('bpf_map_lookup_elem', this.name, ret);
    return this.valueCodec.decode(this.vbuf, 0);
  }

  /** The value for a key; KeyNotFoundError when it is missing. */
  get(key: K): V {
    this.encodeKey(key, this.kbuf, 'bpf_map_lookup_elem');
    const ret = lib().bpf_map_lookup_elem(this.fd, this.kbuf, this.vbuf);
    if (ret < 0) throw mapCallError('bpf_map_lookup_elem', this.name, ret);
    return this.valueCodec.decode(this.vbuf, 0);
  }

  has(key: K): boolean {
    return this.lookup(key) !== undefined;
  }

  /** Writes one entry. MapFullError, KeyExistsError (BPF_NOEXIST), KeyNotFoundError (BPF_EXIST). */
  update(key: K, value: V, flags: UpdateFlags = BPF_ANY): void {
    this.encodeKey(key, this.kbuf, 'bpf_map_update_elem');
    this.encode(this.valueCodec, value, this.vbuf, 'bpf_map_update_elem', 'value', this.vbuf.length);
    const ret = lib().bpf_map_update_elem(this.fd, this.kbuf, this.vbuf, flags);
    if (ret < 0) throw mapCallError('bpf_map_update_elem', this.name, ret);
  }

  /** Deletes one entry; KeyNotFoundError when it is missing. */
  delete(key: K): void {
    this.encodeKey(key, this.kbuf, 'bpf_map_delete_elem');
    const ret = lib().bpf_map_delete_elem(this.fd, this.kbuf);
    if (ret < 0) throw mapCallError('bpf_map_delete_elem', this.name, ret);
  }

  /** Deletes one entry if present; returns whether it was. */
  tryDelete(key: K): boolean {
    this.encodeKey(key, this.kbuf, 'bpf_map_delete_elem');
    const ret = lib().bpf_map_delete_elem(this.fd, this.kbuf);
    if (ret === -2) return false;
    if (ret < 0) throw mapCallError('bpf_map_delete_elem', this.name, ret);
    return true;
  }

  /**
   * Every key, as a snapshot taken before the first one is returned (so that
   * deleting while iterating does not restart a hash map walk).
   */
  *keys(): Generator<K> {
    for (const chunk of this.snapshot(false)) {
      for (let i = 0; i < chunk.count; i++) yield this.keyCodec.decode(chunk.keys, i * this.info.keySize);
    }
  }

  /** Every entry, read in batches (BPF_MAP_LOOKUP_BATCH) where the kernel has them. */
  *entries(): Generator<[K, V]> {
    const vs = this.vbuf.length;
    for (const chunk of this.snapshot(true)) {
      for (let i = 0; i < chunk.count; i++) {
        yield [this.keyCodec.decode(chunk.keys, i * this.info.keySize), this.valueCodec.decode(chunk.values!, i * vs)];
      }
    }
  }

  /** The map's content in chunks of raw keys (and values): one lookup-batch call per chunk, or a key walk. */
  private snapshot(withValues: boolean): Array<{ keys: Buffer; values?: Buffer; count: number }> {
    const ks = this.info.keySize;
    const vs = this.vbuf.length;
    const out: Array<{ keys: Buffer; values?: Buffer; count: number }> = [];
    if (this.lookupBatchSupported) {
      const l = lib();
      const chunk = Math.max(1, Math.min(BATCH_CHUNK, this.info.maxEntries));
      const token = Buffer.alloc(Math.max(8, ks));
      const next = Buffer.alloc(Math.max(8, ks));
      const opts = Buffer.alloc(24);
      opts.writeBigUInt64LE(24n, 0);
      for (let first = true; ; first = false) {
        const keys = Buffer.alloc(chunk * ks);
        const values = Buffer.alloc(chunk * vs);
        const count = new Uint32Array([chunk]);
        const ret = l.bpf_map_lookup_batch(this.fd, first ? null : token, next, keys, values, count, opts);
        if (first && (ret === -ENOTSUPP || ret === -EOPNOTSUPP || ret === -EINVAL)) {
          this.lookupBatchSupported = false;
          break;
        }
        if (ret < 0 && ret !== -ENOENT) throw mapCallError('bpf_map_lookup_batch', this.name, ret);
        if (count[0]) out.push({ keys, values, count: count[0] });
        if (ret === -ENOENT) return out; // the walk is complete
        next.copy(token);
      }
    }
    // The key walk: one get_next_key (and one lookup) per entry.
    const l = lib();
    const keys: Buffer[] = [];
    let prev: Buffer | null = null;
    for (;;) {
      const k = Buffer.alloc(ks);
      const ret = l.bpf_map_get_next_key(this.fd, prev, k);
      if (ret === -ENOENT) break;
      if (ret < 0) throw mapCallError('bpf_map_get_next_key', this.name, ret);
      keys.push(k);
      prev = k;
      if (keys.length > this.info.maxEntries) break; // arrays and odd map types never end otherwise
    }
    const all = Buffer.concat(keys);
    if (!withValues) return [{ keys: all, count: keys.length }];
    const values = Buffer.alloc(keys.length * vs);
    const present = Buffer.alloc(keys.length * ks);
    let n = 0;
    for (const k of keys) {
      const ret = l.bpf_map_lookup_elem(this.fd, k, this.vbuf);
      if (ret === -ENOENT) continue; // deleted meanwhile
      if (ret < 0) throw mapCallError('bpf_map_lookup_elem', this.name, ret);
      k.copy(present, n * ks);
      this.vbuf.copy(values, n * vs);
      n++;
    }
    return [{ keys: present, values, count: n }];
  }

  /**
   * Writes many entries with BPF_MAP_UPDATE_BATCH (one syscall per chunk of
   * 8192), falling back to single updates on kernels or map types without
   * it. Returns the number written; a full map throws MapFullError whose
   * `completed` says how many were written before.
   */
  updateBatch(entries: ReadonlyArray<readonly [K, V]>, flags: UpdateFlags = BPF_ANY): number {
    const ks = this.info.keySize;
    const vs = this.vbuf.length;
    let done = 0;
    const opts = Buffer.alloc(24);
    opts.writeBigUInt64LE(24n, 0);
    opts.writeBigUInt64LE(BigInt(flags), 8);
    for (let start = 0; start < entries.length && this.batchSupported; ) {
      const n = Math.min(BATCH_CHUNK, entries.length - start);
      const keys = Buffer.alloc(n * ks);
      const values = Buffer.alloc(n * vs);
      for (let i = 0; i < n; i++) {
        const [k, v] = entries[start + i]!;
        this.encode(this.keyCodec, k, keys, 'bpf_map_update_batch', 'key', ks, i * ks);
        this.encode(this.valueCodec, v, values, 'bpf_map_update_batch', 'value', vs, i * vs);
      }
      const count = new Uint32Array([n]);
      const ret = lib().bpf_map_update_batch(this.fd, keys, values, count, opts);
      if (ret === -ENOTSUPP || ret === -EOPNOTSUPP) {
        this.batchSupported = false;
        break;
      }
      if (ret < 0) throw mapCallError('bpf_map_update_batch', this.name, ret, done + count[0]!);
      done += n;
      start += n;
    }
    for (let i = done; i < entries.length; i++) {
      const [k, v] = entries[i]!;
      try {
        this.update(k, v, flags);
      } catch (e) {
        throw e instanceof BpfError ? mapCallError('bpf_map_update_elem', this.name, -e.errno, i) : e;
      }
    }
    return entries.length;
  }

  /**
   * Deletes many keys (BPF_MAP_DELETE_BATCH where the kernel has it);
   * missing keys are skipped. Returns how many were deleted.
   */
  deleteBatch(keys: readonly K[]): number {
    const ks = this.info.keySize;
    const raw = Buffer.alloc(keys.length * ks);
    keys.forEach((k, i) => this.encode(this.keyCodec, k, raw, 'bpf_map_delete_batch', 'key', ks, i * ks));
    return this.deleteRaw(raw, keys.length);
  }

  private deleteRaw(raw: Buffer, n: number): number {
    const ks = this.info.keySize;
    const l = lib();
    const opts = Buffer.alloc(24);
    opts.writeBigUInt64LE(24n, 0);
    let deleted = 0;
    let start = 0;
    while (start < n && this.deleteBatchSupported) {
      const count = new Uint32Array([Math.min(BATCH_CHUNK, n - start)]);
      const ret = l.bpf_map_delete_batch(this.fd, raw.subarray(start * ks), count, opts);
      if (ret === -ENOTSUPP || ret === -EOPNOTSUPP) {
        this.deleteBatchSupported = false;
        break;
      }
      deleted += count[0]!;
      start += count[0]!;
      if (ret === -ENOENT) start++; // the kernel stops at a missing key: skip it
      else if (ret < 0) throw mapCallError('bpf_map_delete_batch', this.name, ret);
    }
    for (; start < n; start++) {
      const ret = l.bpf_map_delete_elem(this.fd, raw.subarray(start * ks, (start + 1) * ks));
      if (ret === 0) deleted++;
      else if (ret !== -ENOENT) throw mapCallError('bpf_map_delete_elem', this.name, ret);
    }
    return deleted;
  }

  /** Deletes every entry; returns how many there were. */
  clear(): number {
    let n = 0;
    for (const chunk of this.snapshot(false)) n += this.deleteRaw(chunk.keys, chunk.count);
    return n;
  }

  /** Pins the map at a path on bpffs. */
  pin(path: string): void {
    pinFd(this.fd, path, this.name);
  }

  /** Removes a pin of this map; false when there was none. */
  unpin(path: string): boolean {
    return unpin(path);
  }

  /** Closes the fd if this map owns it (opened from a pin); maps of an object close with it. */
  close(): void {
    if (this.ownsFd && this.fdValue >= 0) closeSync(this.fdValue);
    this.fdValue = -1;
  }
}
