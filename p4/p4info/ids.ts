// P4Info ids as p4c assigns them: the top byte is the object kind, the low
// 24 bits the Jenkins one-at-a-time hash of the fully qualified name
// (masked to 24 bits); p4c probes upward on a collision within a kind.

/** P4Ids.Prefix: the top byte of an id. */
export const IdPrefix = {
  ACTION: 0x01,
  TABLE: 0x02,
  VALUE_SET: 0x03,
  CONTROLLER_HEADER: 0x04,
  ACTION_PROFILE: 0x11,
  COUNTER: 0x12,
  DIRECT_COUNTER: 0x13,
  METER: 0x14,
  DIRECT_METER: 0x15,
  REGISTER: 0x16,
  DIGEST: 0x17,
} as const;

export type IdKind = keyof typeof IdPrefix;

/** Bob Jenkins' one-at-a-time hash over the UTF-8 bytes of the name. */
export function jenkinsOneAtATime(name: string): number {
  let hash = 0;
  for (const byte of Buffer.from(name, 'utf8')) {
    hash = (hash + byte) >>> 0;
    hash = (hash + (hash << 10)) >>> 0;
    hash = (hash ^ (hash >>> 6)) >>> 0;
  }
  hash = (hash + (hash << 3)) >>> 0;
  hash = (hash ^ (hash >>> 11)) >>> 0;
  hash = (hash + (hash << 15)) >>> 0;
  return hash;
}

/** The id p4c gives an object of this kind and fully qualified name (before collision probing). */
export function p4cId(kind: IdKind, name: string): number {
  return ((IdPrefix[kind] << 24) | (jenkinsOneAtATime(name) & 0xffffff)) >>> 0;
}

/** The kind an id's top byte names, if any. */
export function idKind(id: number): IdKind | undefined {
  const prefix = id >>> 24;
  return (Object.keys(IdPrefix) as IdKind[]).find((k) => IdPrefix[k] === prefix);
}

/** Assigns ids to many objects of one kind the way p4c does: hash, then probe past collisions, in order. */
export function assignIds(kind: IdKind, names: readonly string[]): Map<string, number> {
  const used = new Set<number>();
  const out = new Map<string, number>();
  for (const name of names) {
    let id = p4cId(kind, name);
    while (used.has(id)) id = ((IdPrefix[kind] << 24) | ((id + 1) & 0xffffff)) >>> 0;
    used.add(id);
    out.set(name, id);
  }
  return out;
}
