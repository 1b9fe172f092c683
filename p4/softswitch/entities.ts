// Conversions between P4Runtime entities (as the server hands them to the
// target: big-endian bytes at full width) and the switch's map records, and
// back to wire-form entities when a restarted target reports what its pinned
// maps hold.
import type { Entity, FieldMatch } from '../proto/types.js';
import type { TargetAction, TargetTableEntry } from '../server/target.js';
import type { ResolvedAction, ResolvedTable, SwitchSchema } from './schema.js';

/** A big-endian unsigned value of up to 6 bytes. */
export function beNumber(b: Buffer): number {
  return b.length === 0 ? 0 : b.readUIntBE(0, Math.min(b.length, 6));
}

/** `n` big-endian at the byte width of `bits`. */
export function beBytes(n: number, bits: number): Buffer {
  const w = Math.ceil(bits / 8);
  const b = Buffer.alloc(w);
  b.writeUIntBE(n, 0, w);
  return b;
}

export function ipv4Of(b: Buffer): string {
  const v = beNumber(b);
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function ipv4Bytes(addr: string): Buffer {
  return Buffer.from(addr.split('.').map(Number));
}

export function macOf(b: Buffer): string {
  const full = Buffer.alloc(6);
  b.copy(full, 6 - Math.min(6, b.length), Math.max(0, b.length - 6));
  return [...full].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((x) => parseInt(x, 16)));
}

/** An action parameter's value by name. */
export function param(action: TargetAction, name: string): Buffer {
  const p = action.params.find((x) => x.param.name === name);
  if (!p) throw new Error(`action ${action.action.alias} has no parameter ${name}`);
  return p.value;
}

/** The match values of an entry, in the table's field order. */
export function matchValues(e: TargetTableEntry): Buffer[] {
  return e.match.map((m) => m.value);
}

/** A wire-form action with its parameters given by name. */
export function wireAction(a: ResolvedAction, values: Readonly<Record<string, number | Buffer>>): { action_id: number; params: { param_id: number; value: Buffer }[] } {
  return {
    action_id: a.info.id,
    params: a.info.params.map((p) => {
      const v = values[p.name];
      if (v === undefined) throw new Error(`no value for parameter ${p.name} of ${a.info.alias}`);
      return { param_id: p.id, value: typeof v === 'number' ? beBytes(v, p.bitwidth) : v };
    }),
  };
}

/** A wire-form table entry with exact (or one LPM) match values in field order. */
export function wireTableEntry(
  t: ResolvedTable,
  match: readonly (Buffer | { value: Buffer; prefixLen: number })[],
  action: NonNullable<NonNullable<Entity['table_entry']>['action']>,
): Entity {
  const fm: FieldMatch[] = [];
  t.fields.forEach((f, i) => {
    const m = match[i]!;
    if (Buffer.isBuffer(m)) fm.push({ field_id: f.id, exact: { value: m } });
    // A /0 prefix is a wildcard: P4Runtime omits the field.
    else if (m.prefixLen > 0) fm.push({ field_id: f.id, lpm: { value: m.value, prefix_len: m.prefixLen } });
  });
  return { table_entry: { table_id: t.info.id, match: fm, action, priority: 0 } };
}

export type { SwitchSchema };
