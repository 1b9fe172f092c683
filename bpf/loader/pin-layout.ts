// Layout versions of pinned maps, and moving entries from an older layout to
// a newer one. A pinned map outlives the program that made it (a restarted
// agent reuses it, live connections included), so an upgrade that changes a
// struct must not reuse it blindly: a same-size layout change would be
// misread silently. The pin's name therefore carries a version, a hash of
// the map type and the key and value layouts from BTF (member names,
// offsets, C types), as `<map>-v<version>`. An object that finds a pin of
// another version (or the unversioned name of earlier releases) creates its
// map under the new name and copies every entry over, field by field by
// name, before it removes the old pin.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { TypeLayout } from './btf-layout.js';

export interface MapLayouts {
  readonly key: TypeLayout;
  readonly value: TypeLayout;
}

/** 8 hex digits naming a map's layout: equal exactly when type, key and value layouts are equal. */
export function layoutVersion(mapType: number, layouts: MapLayouts): string {
  return createHash('sha256').update(JSON.stringify([mapType, layouts.key, layouts.value])).digest('hex').slice(0, 8);
}

/** The pin file of a map at a layout version (bpffs refuses to look up names with a dot). */
export function versionedPinName(map: string, version: string): string {
  return `${map}-v${version}`;
}

/** Pins in dir of `map` at another version, or under the unversioned name of earlier releases. */
export function olderPins(dir: string, map: string, current: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n !== current && (n === map || new RegExp(`^${map.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-v[0-9a-f]{8}$`).test(n)));
}

const same = (a: TypeLayout, b: TypeLayout): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Rewrites bytes of layout `from` as layout `to`: equal types are copied,
 * struct members are matched by name (recursively); a member the old layout
 * lacks stays zero. With `complete`, a new member that cannot be filled makes
 * the conversion fail (undefined): a key must not collapse onto zeros.
 */
export function convertBytes(src: Buffer, from: TypeLayout, to: TypeLayout, complete = false): Buffer | undefined {
  const out = Buffer.alloc(to.size);
  return fill(src, 0, from, out, 0, to, complete) ? out : undefined;
}

function fill(src: Buffer, so: number, from: TypeLayout, dst: Buffer, dof: number, to: TypeLayout, complete: boolean): boolean {
  if (same(from, to)) {
    src.copy(dst, dof, so, so + to.size);
    return true;
  }
  if (from.kind === 'struct' && to.kind === 'struct') {
    let ok = true;
    for (const m of to.members) {
      const old = from.members.find((x) => x.name === m.name);
      if (old && !Number.isNaN(old.offset) && !Number.isNaN(m.offset) && fill(src, so + old.offset, old.layout, dst, dof + m.offset, m.layout, complete)) continue;
      // Padding needs no value; anything else the old layout lacks stays zero.
      if (complete && !/^(pad|_)/.test(m.name)) ok = false;
    }
    return ok;
  }
  return false;
}
