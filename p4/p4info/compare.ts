// Whether a P4Info a controller sends describes the same program as the one
// a target implements. Compares what the data plane depends on (ids, names,
// key fields, widths, match types, actions and parameters, table sizes,
// implementations, counters) and ignores what it does not (aliases,
// annotations, documentation, order of objects, pkg_info). Returns the first
// difference in words, or undefined.
import type { P4InfoIndex } from './p4info.js';

const hex = (id: number): string => `0x${id.toString(16).padStart(8, '0')}`;

export function p4infoMismatch(offered: P4InfoIndex, expected: P4InfoIndex): string | undefined {
  for (const t of expected.tables) {
    const o = offered.findTable(t.id);
    if (!o) return `table '${t.name}' (id ${hex(t.id)}) is missing`;
    if (o.name !== t.name) return `table id ${hex(t.id)} is named '${o.name}', expected '${t.name}'`;
    if (o.matchFields.length !== t.matchFields.length) {
      return `table '${t.name}' has ${o.matchFields.length} match fields, expected ${t.matchFields.length}`;
    }
    for (const f of t.matchFields) {
      const of = o.matchFields.find((x) => x.id === f.id);
      if (!of) return `table '${t.name}' lacks match field ${f.id} '${f.name}'`;
      for (const key of ['name', 'bitwidth', 'matchType'] as const) {
        if (of[key] !== f[key]) return `table '${t.name}' match field '${f.name}' ${key} is ${of[key]}, expected ${f[key]}`;
      }
    }
    const refs = (x: typeof t): string => x.actionRefs.map((r) => `${hex(r.id)}/${r.scope}`).sort().join(',');
    if (refs(o) !== refs(t)) return `table '${t.name}' actions are [${refs(o)}], expected [${refs(t)}]`;
    if (o.size !== t.size) return `table '${t.name}' size is ${o.size}, expected ${t.size}`;
    if (o.implementationId !== t.implementationId) return `table '${t.name}' implementation is ${hex(o.implementationId)}, expected ${hex(t.implementationId)}`;
    if (o.directCounterId !== t.directCounterId) return `table '${t.name}' direct counter differs`;
    if (o.constDefaultActionId !== t.constDefaultActionId) return `table '${t.name}' const default action differs`;
  }
  for (const a of expected.actions) {
    const o = offered.findAction(a.id);
    if (!o) return `action '${a.name}' (id ${hex(a.id)}) is missing`;
    if (o.name !== a.name) return `action id ${hex(a.id)} is named '${o.name}', expected '${a.name}'`;
    const params = (x: typeof a): string => x.params.map((p) => `${p.id}:${p.name}:${p.bitwidth}`).join(',');
    if (params(o) !== params(a)) return `action '${a.name}' parameters are (${params(o)}), expected (${params(a)})`;
  }
  for (const p of expected.actionProfiles) {
    const o = offered.findActionProfile(p.id);
    if (!o) return `action profile '${p.name}' (id ${hex(p.id)}) is missing`;
    for (const key of ['name', 'withSelector', 'size', 'maxGroupSize'] as const) {
      if (o[key] !== p[key]) return `action profile '${p.name}' ${key} is ${o[key]}, expected ${p[key]}`;
    }
    if ([...o.tableIds].sort().join() !== [...p.tableIds].sort().join()) return `action profile '${p.name}' tables differ`;
  }
  for (const c of expected.directCounters) {
    const o = offered.directCounters.find((x) => x.id === c.id);
    if (!o) return `direct counter '${c.name}' (id ${hex(c.id)}) is missing`;
    if (o.tableId !== c.tableId || o.unit !== c.unit) return `direct counter '${c.name}' differs`;
  }
  const extra = (kind: string, offeredIds: number[], expectedIds: Set<number>): string | undefined => {
    const id = offeredIds.find((x) => !expectedIds.has(x));
    return id === undefined ? undefined : `${kind} ${hex(id)} is not part of the program`;
  };
  return (
    extra('table', offered.tables.map((t) => t.id), new Set(expected.tables.map((t) => t.id))) ??
    extra('action', offered.actions.map((t) => t.id), new Set(expected.actions.map((t) => t.id))) ??
    extra('action profile', offered.actionProfiles.map((t) => t.id), new Set(expected.actionProfiles.map((t) => t.id))) ??
    extra('direct counter', offered.directCounters.map((t) => t.id), new Set(expected.directCounters.map((t) => t.id)))
  );
}
