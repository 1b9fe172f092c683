// An eBPF object file opened and loaded through libbpf, with its programs and
// maps found by name. With a pin directory every map is pinned there under
// its name and layout version (pin-layout.ts) and, when that pin already
// exists, reused: a restarted agent keeps its maps. A pin of an older layout
// is migrated entry by entry into the new map, then removed.
import { closeSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Codec } from './codec.js';
import { bytes, perCpuCodec } from './codec.js';
import { declaredMapLayouts, kernelMapLayouts, mapTypeProblems } from './btf-layout.js';
import { convertBytes, layoutVersion, olderPins, versionedPinName, type MapLayouts } from './pin-layout.js';
import { BpfError, LayoutMismatchError, VerifierError } from './errors.js';
import { addressOf, lastErrno, lib } from './libbpf.js';
import type { Pointer } from './libbpf.js';
import { captureLibbpfLog, libbpfLogMark, libbpfMessagesSince, trimVerifierLog } from './libbpf-log.js';
import { BpfMap, isPerCpuMapType, mapInfoByFd, possibleCpus } from './map.js';
import type { MapInfo } from './map.js';
import { ensurePinDir, openPinnedFd, unpin } from './pin.js';
import { BpfProgram } from './program.js';

export interface OpenOptions {
  /**
   * Pin every map of the object (except .data/.rodata/.bss) as
   * `<pinDir>/<map name>.<layout version>`, reusing a pin that is already
   * there (libbpf refuses one whose type, sizes or flags differ from the
   * object's), and migrating the entries of a pin of an older layout.
   */
  pinDir?: string;
  /** Restricts pinDir to these maps (default: all of them). */
  pinMaps?: readonly string[];
  /**
   * When a pinned map no longer matches the object (type, key/value size,
   * max_entries, flags: an upgrade changed the layout), unpin it and create
   * a fresh one instead of failing. Its entries are lost. Default false.
   */
  replaceIncompatiblePins?: boolean;
  /** Resize maps before they are created (e.g. from a table size flag); checked against pins like any other property. */
  maxEntries?: Readonly<Record<string, number>>;
  /** Use these existing maps (BpfMap or fd) instead of creating the object's own. */
  reuseMaps?: Readonly<Record<string, { fd: number } | number>>;
  /** Override which programs load: `{ name: false }` skips one, `{ name: true }` loads a `SEC("?...")` one. */
  autoload?: Readonly<Record<string, boolean>>;
  /** How many verifier log lines a VerifierError keeps (default 30). */
  verifierLogLines?: number;
}

const KERNEL_LOG_SIZE = 4 << 20;

interface MapEntry {
  readonly ptr: Pointer;
  readonly info: MapInfo;
}

/** A pinned map of an older layout whose entries moved into the object's map. */
export interface PinMigration {
  readonly map: string;
  /** The old and new pin files. */
  readonly from: string;
  readonly to: string;
  readonly copied: number;
  /** Entries that could not be converted (a key field the old layout lacks) or did not fit. */
  readonly dropped: number;
}

export class BpfObject {
  private ptr: Pointer | null;
  private readonly maps = new Map<string, MapEntry>();
  private readonly progs = new Map<string, { ptr: Pointer; section: string }>();
  private readonly handed: Array<{ close(): void }> = [];
  private readonly pendingMigrations: { name: string; from: string; to: string; layouts: MapLayouts }[] = [];
  /** What open() migrated from pins of older layouts. */
  readonly migrations: PinMigration[] = [];
  private readonly pinPaths = new Map<string, string>();

  private constructor(
    readonly path: string,
    ptr: Pointer,
  ) {
    this.ptr = ptr;
  }

  /**
   * Opens and loads an object file. A program the verifier rejects throws
   * VerifierError with the log trimmed to what explains it; every other
   * failure is a BpfError naming the call, the object and the errno.
   */
  static open(path: string, opts: OpenOptions = {}): BpfObject {
    const l = lib();
    captureLibbpfLog();
    const abs = resolve(path);
    const logBuf = Buffer.alloc(KERNEL_LOG_SIZE);
    // struct bpf_object_open_opts (libbpf 1.1, x86-64): sz, object_name,
    // relaxed_maps, pin_root_path, (stub), kconfig, btf_custom_path,
    // kernel_log_buf @56, kernel_log_size @64, kernel_log_level @72.
    const openOpts = Buffer.alloc(80);
    openOpts.writeBigUInt64LE(80n, 0);
    openOpts.writeBigUInt64LE(addressOf(logBuf), 56);
    openOpts.writeBigUInt64LE(BigInt(KERNEL_LOG_SIZE), 64);
    openOpts.writeUInt32LE(0, 72); // log only on failure: libbpf retries with level 1

    const mark = libbpfLogMark();
    const ptr = l.bpf_object__open_file(abs, openOpts);
    if (!ptr) {
      throw new BpfError({ call: 'bpf_object__open_file', object: abs, errno: lastErrno(), detail: libbpfMessagesSince(mark).join('; ') || undefined });
    }
    const obj = new BpfObject(abs, ptr);
    try {
      obj.prepare(opts);
      const ret = l.bpf_object__load(ptr);
      if (ret < 0) {
        const messages = libbpfMessagesSince(mark);
        const fullLog = logBuf.toString('utf8', 0, Math.max(0, logBuf.indexOf(0)));
        const failed = messages.map((m) => /prog '([^']+)': (?:failed to load|BPF program load failed)/.exec(m)?.[1]).find(Boolean);
        if (fullLog.trim() && failed !== undefined) {
          throw new VerifierError({ call: 'bpf_object__load', object: abs, errno: -ret, program: failed, log: trimVerifierLog(fullLog, opts.verifierLogLines), fullLog });
        }
        throw new BpfError({ call: 'bpf_object__load', object: abs, errno: -ret, detail: messages.slice(-8).join('; ') || undefined });
      }
      obj.index();
      obj.migrate();
      return obj;
    } catch (e) {
      obj.close();
      throw e;
    } finally {
      // libbpf only writes the log during load; keep the buffer alive until here.
      logBuf.subarray(0, 1);
    }
  }

  private each(next: (obj: Pointer, prev: Pointer | null) => Pointer | null): Pointer[] {
    const out: Pointer[] = [];
    for (let p = next(this.ptr!, null); p; p = next(this.ptr!, p)) out.push(p);
    return out;
  }

  private prepare(opts: OpenOptions): void {
    const l = lib();
    for (const p of this.each(l.bpf_object__next_program)) {
      const name = l.bpf_program__name(p);
      const want = opts.autoload?.[name];
      if (want !== undefined) l.bpf_program__set_autoload(p, want);
    }
    for (const name of Object.keys(opts.autoload ?? {})) {
      if (!this.each(l.bpf_object__next_program).some((p) => l.bpf_program__name(p) === name)) {
        throw new BpfError({ call: 'BpfObject.open', object: `${this.path}: program ${name}`, errno: 2, detail: 'autoload names a program the object does not have' });
      }
    }
    const pinDir = opts.pinDir === undefined ? undefined : ensurePinDir(opts.pinDir);
    const maps = this.each(l.bpf_object__next_map);
    const byName = new Map(maps.map((m) => [l.bpf_map__name(m), m]));
    for (const [name, n] of Object.entries(opts.maxEntries ?? {})) {
      const m = byName.get(name);
      if (!m) throw new BpfError({ call: 'bpf_map__set_max_entries', object: `${this.path}: map ${name}`, errno: 2, detail: 'no such map in the object' });
      const ret = l.bpf_map__set_max_entries(m, n);
      if (ret < 0) throw new BpfError({ call: 'bpf_map__set_max_entries', object: name, errno: -ret, detail: `${n} entries` });
    }
    for (const [name, m] of byName) {
      if (!pinDir || l.bpf_map__is_internal(m) || (opts.pinMaps && !opts.pinMaps.includes(name))) continue;
      const layouts = declaredMapLayouts(this, name);
      const file = layouts ? versionedPinName(name, layoutVersion(l.bpf_map__type(m), layouts)) : name;
      const path = `${pinDir}/${file}`;
      this.pinPaths.set(name, path);
      if (existsSync(path)) this.checkPinned(m, name, path, opts.replaceIncompatiblePins ?? false);
      else if (layouts) for (const old of olderPins(pinDir, name, file)) this.pendingMigrations.push({ name, from: `${pinDir}/${old}`, to: path, layouts });
      const ret = l.bpf_map__set_pin_path(m, path);
      if (ret < 0) throw new BpfError({ call: 'bpf_map__set_pin_path', object: name, errno: -ret });
    }
    for (const [name, reuse] of Object.entries(opts.reuseMaps ?? {})) {
      const m = byName.get(name);
      if (!m) throw new BpfError({ call: 'bpf_map__reuse_fd', object: `${this.path}: map ${name}`, errno: 2, detail: 'no such map in the object' });
      const ret = l.bpf_map__reuse_fd(m, typeof reuse === 'number' ? reuse : reuse.fd);
      if (ret < 0) throw new BpfError({ call: 'bpf_map__reuse_fd', object: name, errno: -ret });
    }
  }

  /**
   * Copies the entries of pins of older layouts into the new maps (each
   * field by name; see pin-layout.ts) and removes the old pins. Programs
   * still attached with the old map keep it until they are replaced.
   */
  private migrate(): void {
    for (const p of this.pendingMigrations) {
      const fd = openPinnedFd(p.from);
      let info: MapInfo;
      try {
        info = mapInfoByFd(fd, p.from);
      } finally {
        closeSync(fd);
      }
      const old = kernelMapLayouts(info);
      const perCpu = isPerCpuMapType(info.type);
      const { keySize, valueSize } = this.entry(p.name).info;
      const target = perCpu ? this.perCpuMap(p.name, bytes(keySize), bytes(valueSize)) : this.map(p.name, bytes(keySize), bytes(valueSize));
      const source = perCpu ? BpfMap.openPinnedPerCpu(p.from, bytes(info.keySize), bytes(info.valueSize)) : BpfMap.openPinned(p.from, bytes(info.keySize), bytes(info.valueSize));
      let copied = 0;
      let dropped = 0;
      try {
        for (const [k, v] of source.entries()) {
          const key = old ? convertBytes(k, old.key, p.layouts.key, true) : undefined;
          const value = old ? (Array.isArray(v) ? v.map((x) => convertBytes(x, old.value, p.layouts.value)) : convertBytes(v as Buffer, old.value, p.layouts.value)) : undefined;
          if (!key || !value || (Array.isArray(value) && value.some((x) => !x))) {
            dropped++;
            continue;
          }
          try {
            (target as BpfMap<Buffer, Buffer | Buffer[]>).update(key, value as Buffer | Buffer[]);
            copied++;
          } catch {
            dropped++;
          }
        }
      } finally {
        source.close();
      }
      unpin(p.from);
      this.migrations.push({ map: p.name, from: p.from, to: p.to, copied, dropped });
    }
    this.pendingMigrations.length = 0;
  }

  /** Says precisely how a pinned map differs from the object's definition (libbpf only says "mismatch"). */
  private checkPinned(m: Pointer, name: string, path: string, replace: boolean): void {
    const l = lib();
    const fd = openPinnedFd(path);
    let pinned: MapInfo;
    try {
      pinned = mapInfoByFd(fd, path);
    } finally {
      closeSync(fd);
    }
    const want = { type: l.bpf_map__type(m), keySize: l.bpf_map__key_size(m), valueSize: l.bpf_map__value_size(m), maxEntries: l.bpf_map__max_entries(m), flags: l.bpf_map__map_flags(m) };
    const diffs = (Object.keys(want) as Array<keyof typeof want>).filter((k) => pinned[k] !== want[k]).map((k) => `${k} ${pinned[k]} pinned, ${want[k]} in the object`);
    if (!diffs.length) return;
    if (replace) {
      unpin(path);
      return;
    }
    throw new BpfError({ call: 'bpf_map__reuse_fd', object: `map ${name} pinned at ${path}`, errno: 22 /* EINVAL */, detail: `${diffs.join(', ')} (remove the pin or pass replaceIncompatiblePins)` });
  }

  private index(): void {
    const l = lib();
    for (const p of this.each(l.bpf_object__next_program)) {
      this.progs.set(l.bpf_program__name(p), { ptr: p, section: l.bpf_program__section_name(p) });
    }
    for (const m of this.each(l.bpf_object__next_map)) {
      const name = l.bpf_map__name(m);
      this.maps.set(name, {
        ptr: m,
        info: {
          name,
          type: l.bpf_map__type(m),
          keySize: l.bpf_map__key_size(m),
          valueSize: l.bpf_map__value_size(m),
          maxEntries: l.bpf_map__max_entries(m),
          flags: l.bpf_map__map_flags(m),
        },
      });
    }
  }

  private live(): Pointer {
    if (!this.ptr) throw new BpfError({ call: 'BpfObject', object: this.path, errno: 9 /* EBADF */, detail: 'object is closed' });
    return this.ptr;
  }

  /** Names of the object's programs (loaded or not). */
  programNames(): string[] {
    this.live();
    return [...this.progs.keys()];
  }

  /** Where a map is pinned (`<pinDir>/<map>-v<layout version>`), or undefined when it is not. */
  pinPath(name: string): string | undefined {
    return this.pinPaths.get(name);
  }

  /** Names of the object's maps, internal ones (".rodata"...) included. */
  mapNames(): string[] {
    this.live();
    return [...this.maps.keys()];
  }

  /** A program by its C function name; closed with the object. */
  program(name: string): BpfProgram {
    this.live();
    const p = this.progs.get(name);
    if (!p) throw new BpfError({ call: 'BpfObject.program', object: `${this.path}: program ${name}`, errno: 2, detail: `the object has ${this.programNames().join(', ')}` });
    const prog = new BpfProgram(name, lib().bpf_program__fd(p.ptr), p.section, false);
    this.handed.push(prog);
    return prog;
  }

  /** The kernel's view of a map of this object. */
  mapInfo(name: string): MapInfo {
    return this.entry(name).info;
  }

  private entry(name: string): MapEntry {
    this.live();
    const m = this.maps.get(name);
    if (!m) throw new BpfError({ call: 'BpfObject.map', object: `${this.path}: map ${name}`, errno: 2, detail: `the object has ${this.mapNames().join(', ')}` });
    return m;
  }

  /** A map by name with typed codecs; WrongSizeError when a codec's size differs from the map's. */
  map<K, V>(name: string, keyCodec: Codec<K>, valueCodec: Codec<V>): BpfMap<K, V> {
    const { ptr, info } = this.entry(name);
    if (isPerCpuMapType(info.type)) throw new BpfError({ call: 'BpfObject.map', object: name, errno: 0, detail: 'per-CPU map: use perCpuMap()' });
    const map = new BpfMap(lib().bpf_map__fd(ptr), info, keyCodec, valueCodec, { ownsFd: false, call: 'BpfObject.map' });
    this.checkTypes(name, keyCodec, valueCodec);
    this.handed.push(map);
    return map;
  }

  /** A per-CPU map by name; values are arrays with one element per possible CPU. */
  perCpuMap<K, V>(name: string, keyCodec: Codec<K>, valueCodec: Codec<V>): BpfMap<K, V[]> {
    const { ptr, info } = this.entry(name);
    if (!isPerCpuMapType(info.type)) throw new BpfError({ call: 'BpfObject.perCpuMap', object: name, errno: 0, detail: 'not a per-CPU map: use map()' });
    const map = new BpfMap(lib().bpf_map__fd(ptr), info, keyCodec, perCpuCodec(valueCodec, possibleCpus()), { ownsFd: false, call: 'BpfObject.perCpuMap' });
    this.checkTypes(name, keyCodec, valueCodec);
    this.handed.push(map);
    return map;
  }

  /**
   * A map is only handed out with codecs of the types its C declaration
   * names (BTF): a swapped or stale codec of the right size would misread
   * every entry silently.
   */
  private checkTypes(name: string, key: Codec<unknown>, value: Codec<unknown>): void {
    if (!this.btfPointer()) return;
    const problems = mapTypeProblems(this, name, key, value);
    if (problems.length) throw new LayoutMismatchError({ object: this.path, type: `map ${name}`, problems });
  }

  /** libbpf's struct btf * of the object (for checkLayoutAgainstBtf); null when it has none. */
  btfPointer(): Pointer | null {
    return lib().bpf_object__btf(this.live()) || null;
  }

  /**
   * Unloads the object: its programs and maps are released (maps stay alive
   * while pinned or used by another object; attached TC programs stay
   * attached). Every BpfMap/BpfProgram handed out becomes unusable.
   */
  close(): void {
    for (const h of this.handed.splice(0)) h.close();
    if (this.ptr) lib().bpf_object__close(this.ptr);
    this.ptr = null;
  }
}
