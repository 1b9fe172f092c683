// Checks a TypeScript struct codec against the C struct as the compiler laid
// it out (the object's BTF): total size, and each field's offset and size.
// This is how every map layout stays defined once on each side and tested.
import type { StructCodec } from './codec.js';
import { BpfError, LayoutMismatchError } from './errors.js';
import { lastErrno, lib, viewAt } from './libbpf.js';
import type { Pointer } from './libbpf.js';
import type { BpfObject } from './object.js';

const KIND_STRUCT = 4;
const KIND_UNION = 5;
const KIND_TYPEDEF = 8;
const KIND_VOLATILE = 9;
const KIND_CONST = 10;
const KIND_RESTRICT = 11;
const KIND_TYPE_TAG = 18;
const MODIFIERS = new Set([KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_TYPE_TAG]);

interface Member {
  name: string;
  /** Byte offset, or NaN for a bitfield that does not start on a byte. */
  offset: number;
  size: number;
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
    out.push({ name, offset, size: bitSize ? bitSize / 8 : Number(l.btf__resolve_size(btf, type)) });
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
