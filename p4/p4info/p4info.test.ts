// talaria.p4info.txtpb against talaria.p4: every id recomputed from its name
// by p4c's rule, and every table, key, action, parameter, selector and
// counter compared with the declarations in the program (read by
// p4-source.ts), so that the two files cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TALARIA_P4, TALARIA_P4INFO } from '../paths.js';
import { assignIds, idKind, jenkinsOneAtATime, p4cId } from './ids.js';
import type { IdKind } from './ids.js';
import { loadP4InfoFile, parseP4InfoText } from './load-p4info.js';
import { P4InfoLookupError } from './p4info.js';
import { parseP4 } from './p4-source.js';
import { printTextFormat } from './text-format.js';
import { messageType } from '../proto/load.js';
import type { P4Param, P4Table } from './p4-source.js';

const p4info = loadP4InfoFile(TALARIA_P4INFO);
const program = parseP4(readFileSync(TALARIA_P4, 'utf8'));
/** The controls that declare P4Runtime objects: ingress (the load balancer) and egress (the ports' source MACs). */
const controls = ['TalariaIngress', 'TalariaEgress'].map((name) => {
  const c = program.controls.find((x) => x.name === name);
  assert.ok(c, `talaria.p4 declares ${name}`);
  return c;
});
type Control = (typeof controls)[number];
const qualified = (c: Control, name: string): string => (name === 'NoAction' ? name : `${c.name}.${name}`);

const MATCH_TYPES: Record<string, string> = { exact: 'EXACT', lpm: 'LPM', ternary: 'TERNARY', range: 'RANGE', optional: 'OPTIONAL' };
const COUNTER_UNITS: Record<string, string> = { packets: 'PACKETS', bytes: 'BYTES', packets_and_bytes: 'BOTH' };

test('the Jenkins hash and p4c ids match known p4c output (tutorials basic.p4)', () => {
  assert.equal(p4cId('TABLE', 'MyIngress.ipv4_lpm'), 37375156);
  assert.equal(p4cId('ACTION', 'MyIngress.ipv4_forward'), 28792405);
  assert.equal(p4cId('ACTION', 'NoAction'), 21257015);
  assert.equal(jenkinsOneAtATime(''), 0);
});

test('every id is p4c\'s hash of the fully qualified name, with the kind in the top byte', () => {
  const objects: [IdKind, { id: number; name: string }[]][] = [
    ['TABLE', [...p4info.tables]],
    ['ACTION', [...p4info.actions]],
    ['ACTION_PROFILE', [...p4info.actionProfiles]],
    ['DIRECT_COUNTER', [...p4info.directCounters]],
  ];
  for (const [kind, list] of objects) {
    const expected = assignIds(kind, list.map((o) => o.name));
    for (const o of list) {
      assert.equal(o.id, expected.get(o.name), `${kind} ${o.name}`);
      assert.equal(idKind(o.id), kind, `${o.name} id has the ${kind} prefix`);
    }
  }
});

test('tables, keys, actions, sizes, selector and counters match talaria.p4', () => {
  const all = <T>(f: (c: Control) => T[]): T[] => controls.flatMap(f);
  assert.deepEqual(p4info.tables.map((t) => t.name).sort(), all((c) => c.tables.map((t) => qualified(c, t.name))).sort());
  for (const c of controls) {
    const q = (name: string): string => qualified(c, name);
    for (const decl of c.tables) {
      const table = p4info.table(q(decl.name));
      assert.equal(table.alias, decl.name);
      const keys = decl.keys.filter((k) => k.matchKind !== 'selector');
      assert.deepEqual(
        table.matchFields.map((f) => ({ id: f.id, name: f.name, bitwidth: f.bitwidth, matchType: f.matchType })),
        keys.map((k, i) => ({ id: i + 1, name: k.name, bitwidth: k.bitwidth, matchType: MATCH_TYPES[k.matchKind] })),
        `${decl.name} match fields`,
      );
      assert.ok(keys.every((k) => k.name !== k.expr), `${decl.name}: every key has a stable @name`);
      assert.deepEqual(
        table.actionRefs,
        decl.actions.map((a) => ({ id: p4info.action(q(a.name)).id, scope: a.defaultOnly ? 'DEFAULT_ONLY' : 'TABLE_AND_DEFAULT' })),
        `${decl.name} action refs`,
      );
      assert.equal(table.constDefaultActionId, decl.constDefaultAction ? p4info.action(q(decl.constDefaultAction)).id : 0);
      assert.equal(table.size, decl.size ?? 1024, `${decl.name} size`);
      assert.equal(table.implementationId, decl.implementation ? p4info.actionProfile(q(decl.implementation)).id : 0);
      assert.equal(table.directCounterId, decl.counters ? p4info.directCounter(q(decl.counters)).id : undefined);
    }

    for (const name of new Set(c.tables.flatMap((t) => t.actions.map((a) => a.name)))) {
      const action = p4info.action(q(name));
      const params: P4Param[] | undefined = name === 'NoAction' ? [] : c.actions.get(name);
      assert.ok(params, `action ${name} is declared in ${c.name}`);
      assert.deepEqual(action.params.map((p) => ({ id: p.id, name: p.name, bitwidth: p.bitwidth })),
        params.map((p, i) => ({ id: i + 1, ...p })), `${name} params`);
    }

    for (const sel of c.selectors) {
      const profile = p4info.actionProfile(q(sel.name));
      assert.equal(profile.withSelector, true);
      assert.equal(profile.size, sel.size);
      assert.equal(profile.maxGroupSize, sel.maxGroupSize ?? 0);
      assert.deepEqual(profile.tableIds, c.tables.filter((t) => t.implementation === sel.name).map((t) => p4info.table(q(t.name)).id));
    }

    for (const [name, type] of c.directCounters) {
      const counter = p4info.directCounter(q(name));
      assert.equal(counter.unit, COUNTER_UNITS[type]);
      const owner: P4Table | undefined = c.tables.find((t) => t.counters === name);
      assert.ok(owner, `${name} is attached to a table`);
      assert.equal(counter.tableId, p4info.table(q(owner.name)).id);
    }
  }
  const declaredActions = new Set(all((c) => c.tables.flatMap((t) => t.actions.map((a) => qualified(c, a.name)))));
  assert.deepEqual(p4info.actions.map((a) => a.name).sort(), [...declaredActions].sort());
  assert.equal(p4info.actionProfiles.length, all((c) => c.selectors).length);
  assert.equal(p4info.directCounters.length, controls.reduce((n, c) => n + c.directCounters.size, 0));
  assert.equal(p4info.message.pkg_info?.arch, 'v1model');
});

test('the P4Info file is exactly what protobuf\'s text printer writes for it (p4c\'s formatting)', () => {
  const text = readFileSync(TALARIA_P4INFO, 'utf8');
  const body = text.replace(/^(#[^\n]*\n)+/, '');
  assert.equal(printTextFormat(messageType('p4.config.v1.P4Info'), p4info.message), body);
});

test('names resolve both ways, by alias, full name and id', () => {
  const frontends = p4info.table('frontends');
  assert.equal(p4info.table(frontends.id), frontends);
  assert.equal(p4info.table('TalariaIngress.frontends'), frontends);
  assert.equal(p4info.matchField(frontends, 'dst_port').id, 2);
  assert.equal(p4info.param(p4info.action('to_port'), 'dst_mac').bitwidth, 48);
  assert.throws(() => p4info.table('nope'), (e: unknown) => e instanceof P4InfoLookupError && /no table 'nope'/.test(e.message));
  assert.throws(() => p4info.action(0x02000001), /no action id 0x02000001/);
});

test('the text format parser rejects unknown fields and reads repeated fields, enums and escapes', () => {
  assert.throws(() => parseP4InfoText('tables { bogus: 1 }'), /has no field 'bogus'/);
  assert.throws(() => parseP4InfoText('tables { preamble { id: 1 }'), /missing '}'/);
  const parsed = parseP4InfoText(`
    # comment
    tables: { preamble { id: 0x02000001 name: "a" "b" alias: 'x\\"y' } size: 10 match_fields [{ id: 1 match_type: LPM }, { id: 2 }] }
    tables < preamble < id: 7 > >`);
  assert.equal(parsed.tables?.length, 2);
  assert.deepEqual(parsed.tables?.[0].preamble, { id: 0x02000001, name: 'ab', alias: 'x"y', annotations: [], annotation_locations: [], doc: null });
  assert.equal(parsed.tables?.[0].size, '10');
  assert.equal(parsed.tables?.[0].match_fields?.[0].match_type, 'LPM');
});
