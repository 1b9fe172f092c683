// Checks a TypeScript struct codec against the C struct as the compiler laid
// it out (the object's BTF): total size, each field's offset, size and C
// type (width, signedness and byte order: a __be16 is not a __u16), and
// which type each map's key and value is. This is how every map layout
// stays defined once on each side and tested.
import type { Codec, StructCodec } from './codec.js';
import { BpfError, LayoutMismatchError } from './errors.js';
import { lastErrno, lib, viewAt } from './libbpf.js';
import type { Pointer } from './libbpf.js';
import type { BpfObject } from './object.js';

const KIND_INT = 1;
const KIND_PTR = 2;
const KIND_ARRAY = 3;
const KIND_STRUCT = 4;
const KIND_UNION = 5;
const KIND_TYPEDEF = 8;
const KIND_VOLATILE = 9;
const KIND_CONST = 10;
const KIND_RESTRICT = 11;
const KIND_TYPE_TAG = 18;
const KIND_ENUM = 6;
const KIND_VAR = 14;
const KIND_DATASEC = 15;
const INT_SIGNED = 1;
const MODIFIERS = new Set([KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_TYPE_TAG]);

interface Member {
  name: string;
  /** Byte offset, or NaN for a bitfield that does not start on a byte. */
  offset: number;
  size: number;
  /** BTF type id of the member. */
  type: number;
}

export interface LayoutCheckOptions {
  /**
   * C members the codec may leave out (treated as padding). Members named
   * pad*, _* or __* are padding by default.
   */
  ignore?: readonly string[];
}

function header(ptr: Pointer): { nameOff: number; kind: number; vlen: number; kflag: boolean; sizeOrType: number } {
  const b = viewAt(ptr, 12);
  const info = b.readUInt32LE(4);
  return { nameOff: b.readUInt32LE(0), kind: (info >>> 24) & 0x1f, vlen: info & 0xffff, kflag: info >>> 31 === 1, sizeOrType: b.readUInt32LE(8) };
}

function members(btf: Pointer, typeId: number, base: number, out: Member[]): void {
  const l = lib();
  const t = l.btf__type_by_id(btf, typeId)!;
  const h = header(t);
  const raw = viewAt(t + 12n, 12 * h.vlen);
  for (let i = 0; i < h.vlen; i++) {
    const nameOff = raw.readUInt32LE(12 * i);
    const type = raw.readUInt32LE(12 * i + 4);
    const off = raw.readUInt32LE(12 * i + 8);
    const bitOffset = h.kflag ? off & 0xffffff : off;
    const bitSize = h.kflag ? off >>> 24 : 0;
    const name = l.btf__name_by_offset(btf, nameOff) ?? '';
    const offset = bitOffset % 8 === 0 && bitSize === 0 ? base + bitOffset / 8 : NaN;
    if (name === '') {
      // An anonymous struct/union: its members belong to the enclosing struct.
      let id = type;
      let k = header(l.btf__type_by_id(btf, id)!);
      while (MODIFIERS.has(k.kind)) {
        id = k.sizeOrType;
        k = header(l.btf__type_by_id(btf, id)!);
      }
      if (k.kind === KIND_STRUCT || k.kind === KIND_UNION) members(btf, id, offset, out);
      continue;
    }
    out.push({ name, offset, size: bitSize ? bitSize / 8 : Number(l.btf__resolve_size(btf, type)), type });
  }
}

/**
 * A C type as codecs name it (Codec.ctypes): "u8".."u64", "s32", "be16",
 * "be32", "be64" (a typedef __be16/__be32/__be64 on the way marks network
 * order), "T[n]" for arrays, "struct name", "union name", "enum".
 */
export function cTypeName(btf: Pointer, typeId: number): string {
  const l = lib();
  let id = typeId;
  let be = false;
  for (;;) {
    const t = l.btf__type_by_id(btf, id);
    if (!t) return `type#${typeId}`;
    const h = header(t);
    if (MODIFIERS.has(h.kind)) {
      if (h.kind === KIND_TYPEDEF && /^__be(16|32|64)$/.test(l.btf__name_by_offset(btf, h.nameOff) ?? '')) be = true;
      id = h.sizeOrType;
      continue;
    }
    switch (h.kind) {
      case KIND_INT: {
        const encoding = viewAt(t + 12n, 4).readUInt32LE(0) >>> 24;
        const bits = h.sizeOrType * 8;
        return be ? `be${bits}` : `${encoding & INT_SIGNED ? 's' : 'u'}${bits}`;
      }
      case KIND_ARRAY: {
        const a = viewAt(t + 12n, 12);
        return `${cTypeName(btf, a.readUInt32LE(0))}[${a.readUInt32LE(8)}]`;
      }
      case KIND_STRUCT:
      case KIND_UNION:
        return `${h.kind === KIND_STRUCT ? 'struct' : 'union'} ${l.btf__name_by_offset(btf, h.nameOff) || '(anonymous)'}`;
      case KIND_ENUM:
        return 'enum';
      case KIND_PTR:
        return `${cTypeName(btf, h.sizeOrType)} *`;
      default:
        return `kind#${h.kind}`;
    }
  }
}

function withBtf<T>(source: BpfObject | string, fn: (btf: Pointer, object: string) => T): T {
  if (typeof source !== 'string') {
    const btf = source.btfPointer();
    if (!btf) throw new BpfError({ call: 'bpf_object__btf', object: source.path, errno: 0, detail: 'the object has no BTF (compile with -g)' });
    return fn(btf, source.path);
  }
  const l = lib();
  const btf = l.btf__parse(source, null);
  if (!btf) throw new BpfError({ call: 'btf__parse', object: source, errno: lastErrno() });
  try {
    return fn(btf, source);
  } finally {
    l.btf__free(btf);
  }
}

/**
 * Lists how a codec differs from a C struct or union in the BTF of a loaded
 * object or an object file (path). `type` is "struct name", "union name" or
 * just "name" (a struct). An empty list means they agree.
 */
export function layoutProblems(source: BpfObject | string, type: string, codec: StructCodec<unknown>, opts: LayoutCheckOptions = {}): string[] {
  const m = /^(?:(struct|union)\s+)?([A-Za-z_]\w*)$/.exec(type.trim());
  if (!m) throw new TypeError(`not a C type name: ${type}`);
  const kind = m[1] === 'union' ? KIND_UNION : KIND_STRUCT;
  const name = m[2]!;
  return withBtf(source, (btf) => {
    const l = lib();
    const id = l.btf__find_by_name_kind(btf, name, kind);
    if (id < 0) return [`${m[1] ?? 'struct'} ${name} is not in the BTF (only types the program uses are emitted, e.g. as a map key or value)`];
    const problems: string[] = [];
    const size = Number(l.btf__resolve_size(btf, id));
    if (size !== codec.size) problems.push(`size: C has ${size} bytes, the codec ${codec.size}`);
    const cMembers: Member[] = [];
    members(btf, id, 0, cMembers);
    const byName = new Map(cMembers.map((x) => [x.name, x]));
    for (const f of codec.fields) {
      const c = byName.get(f.name);
      if (!c) {
        problems.push(`field ${f.name}: no such member in C`);
        continue;
      }
      if (Number.isNaN(c.offset)) problems.push(`field ${f.name}: a bitfield in C, not byte-addressable`);
      else if (c.offset !== f.offset) problems.push(`field ${f.name}: offset ${f.offset} in the codec, ${c.offset} in C`);
      if (c.size !== f.size) problems.push(`field ${f.name}: ${f.size} bytes in the codec, ${c.size} in C`);
      else if (f.ctypes && !f.ctypes.includes(cTypeName(btf, c.type))) problems.push(`field ${f.name}: ${cTypeName(btf, c.type)} in C, the codec reads ${f.ctypes.join(' or ')}`);
    }
    const declared = new Set(codec.fields.map((f) => f.name));
    for (const c of cMembers) {
      if (declared.has(c.name) || opts.ignore?.includes(c.name) || /^(pad|_)/.test(c.name)) continue;
      problems.push(`member ${c.name} (offset ${c.offset}, ${c.size} bytes) is missing from the codec`);
    }
    return problems;
  });
}

/** Throws LayoutMismatchError listing every difference between a codec and the C type. */
export function checkLayoutAgainstBtf(source: BpfObject | string, type: string, codec: StructCodec<unknown>, opts: LayoutCheckOptions = {}): void {
  const problems = layoutProblems(source, type, codec, opts);
  if (problems.length) throw new LayoutMismatchError({ object: typeof source === 'string' ? source : source.path, type, problems });
}

/** The BTF type ids of a map's declared key and value (`__type(key, T)` is a member "T *key" in .maps). */
function declaredMapTypes(btf: Pointer, map: string): { key?: number; value?: number } | string {
  const l = lib();
  const sec = l.btf__find_by_name_kind(btf, '.maps', KIND_DATASEC);
  if (sec < 0) return 'the object has no .maps section in its BTF';
  const t = l.btf__type_by_id(btf, sec)!;
  const h = header(t);
  const vars = viewAt(t + 12n, 12 * h.vlen);
  for (let i = 0; i < h.vlen; i++) {
    const v = header(l.btf__type_by_id(btf, vars.readUInt32LE(12 * i))!);
    if (v.kind !== KIND_VAR || l.btf__name_by_offset(btf, v.nameOff) !== map) continue;
    const def: Member[] = [];
    members(btf, v.sizeOrType, 0, def);
    const pointee = (name: string): number | undefined => {
      const m = def.find((x) => x.name === name);
      return m ? header(l.btf__type_by_id(btf, m.type)!).sizeOrType : undefined;
    };
    return { key: pointee('key'), value: pointee('value') };
  }
  return 'it is not in the .maps section';
}

/**
 * Lists how the key and value codecs of a map differ from the types the map
 * was declared with (`__type(key, ...)`, `__type(value, ...)` in the .maps
 * section of the object's BTF). A codec without C types is taken on trust;
 * for per-CPU maps the value codec is the per-CPU element. Empty: they agree.
 */
export function mapTypeProblems(source: BpfObject | string, map: string, key: Codec<unknown>, value: Codec<unknown>): string[] {
  return withBtf(source, (btf) => {
    const types = declaredMapTypes(btf, map);
    if (typeof types === 'string') return [`map ${map}: ${types}`];
    const problems: string[] = [];
    for (const [part, codec] of [['key', key], ['value', value]] as const) {
      const id = types[part];
      if (id === undefined) {
        problems.push(`map ${map}: declared without __type(${part}, ...): its ${part} type cannot be checked`);
        continue;
      }
      const c = cTypeName(btf, id);
      if (codec.ctypes && !codec.ctypes.includes(c)) problems.push(`map ${map}: ${part} is ${c} in C, the codec reads ${codec.ctypes.join(' or ')}`);
    }
    return problems;
  });
}

/** The shape of a C type as far as bytes go: what a pinned map's entries mean. */
export type TypeLayout =
  | { readonly kind: 'scalar'; readonly ctype: string; readonly size: number }
  | { readonly kind: 'array'; readonly elem: TypeLayout; readonly n: number; readonly size: number }
  | { readonly kind: 'struct'; readonly name: string; readonly size: number; readonly members: readonly { readonly name: string; readonly offset: number; readonly layout: TypeLayout }[] };

/** The layout of a BTF type: member names, offsets and C types, recursively (type ids and modifiers left out). */
export function typeLayout(btf: Pointer, typeId: number): TypeLayout {
  const l = lib();
  let id = typeId;
  for (;;) {
    const h = header(l.btf__type_by_id(btf, id)!);
    if (h.kind === KIND_TYPEDEF && /^__be(16|32|64)$/.test(l.btf__name_by_offset(btf, h.nameOff) ?? '')) break;
    if (!MODIFIERS.has(h.kind)) break;
    id = h.sizeOrType;
  }
  const size = Number(l.btf__resolve_size(btf, typeId));
  const t = l.btf__type_by_id(btf, id)!;
  const h = header(t);
  if (h.kind === KIND_ARRAY) {
    const a = viewAt(t + 12n, 12);
    return { kind: 'array', elem: typeLayout(btf, a.readUInt32LE(0)), n: a.readUInt32LE(8), size };
  }
  if (h.kind === KIND_STRUCT || h.kind === KIND_UNION) {
    const ms: Member[] = [];
    members(btf, id, 0, ms);
    return { kind: 'struct', name: cTypeName(btf, id), size, members: ms.map((m) => ({ name: m.name, offset: m.offset, layout: typeLayout(btf, m.type) })) };
  }
  return { kind: 'scalar', ctype: cTypeName(btf, typeId), size };
}

/** Key and value layouts of a map as the object declares it; undefined without __type declarations. */
export function declaredMapLayouts(source: BpfObject | string, map: string): { key: TypeLayout; value: TypeLayout } | undefined {
  return withBtf(source, (btf) => {
    const types = declaredMapTypes(btf, map);
    if (typeof types === 'string' || types.key === undefined || types.value === undefined) return undefined;
    return { key: typeLayout(btf, types.key), value: typeLayout(btf, types.value) };
  });
}

/** Key and value layouts of a map in the kernel (from its BTF ids); undefined when it has no BTF. */
export function kernelMapLayouts(info: { btfId?: number; btfKeyTypeId?: number; btfValueTypeId?: number }): { key: TypeLayout; value: TypeLayout } | undefined {
  if (!info.btfId || !info.btfKeyTypeId || !info.btfValueTypeId) return undefined;
  const l = lib();
  const btf = l.btf__load_from_kernel_by_id(info.btfId);
  if (!btf) return undefined;
  try {
    return { key: typeLayout(btf, info.btfKeyTypeId), value: typeLayout(btf, info.btfValueTypeId) };
  } finally {
    l.btf__free(btf);
  }
}
