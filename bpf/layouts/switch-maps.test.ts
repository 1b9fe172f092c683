// The software switch's TypeScript layouts against their C source, in full:
// every struct (size, offsets, field C types and byte order) and every map's
// key and value type from the BTF of build/bpf/switch.bpf.o, and every enum
// and kind from bpf/include/switch_consts.h. The object is built by `make
// setup`; a missing one is a failure, not a skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { layoutProblems, mapTypeProblems } from '../loader/btf-layout.js';
import { bpfObjectPath } from '../testing/paths.js';
import { cConstants, cTable } from '../testing/c-constants.js';
import { DROP_REASON_COUNT, DROP_REASONS, PASS_REASON_COUNT, PASS_REASONS, REJECT_KINDS, RouteKind, SW_MAGLEV_M, SWITCH_MAPS, SWITCH_STRUCTS, SWITCH_TABLES, SelectKind } from './switch-maps.js';

const object = bpfObjectPath('switch');
const C = cConstants('switch_consts.h');
const byValue = (names: Readonly<Record<number, string>> | readonly string[]): Map<string, number> =>
  new Map(Object.entries(names).map(([i, n]) => [n, Number(i)]));

test('build/bpf/switch.bpf.o exists (make setup builds it)', () => {
  assert.ok(existsSync(object), `${object} is missing: run make -C bpf`);
});

test('every switch struct matches its C struct: size, offsets, C types and byte order', () => {
  for (const codec of SWITCH_STRUCTS) assert.deepEqual(layoutProblems(object, `struct ${codec.name}`, codec), [], codec.name);
});

test('every switch map has the key and value types the codecs read', () => {
  for (const [name, m] of Object.entries(SWITCH_MAPS)) assert.deepEqual(mapTypeProblems(object, name, m.key, m.value), [], name);
});

test('drop, pass and reject reasons, tables and kinds equal the C enums and defines', () => {
  assert.deepEqual(byValue(DROP_REASONS), cTable(C, 'SW_DROP_', 'SW_DROP_REASON_COUNT'));
  assert.equal(DROP_REASON_COUNT, C.get('SW_DROP_REASON_COUNT'));
  assert.deepEqual(byValue(PASS_REASONS), cTable(C, 'SW_PASS_', 'SW_PASS_REASON_COUNT'));
  assert.equal(PASS_REASON_COUNT, C.get('SW_PASS_REASON_COUNT'));
  assert.deepEqual(byValue(REJECT_KINDS), cTable(C, 'SW_REJECT_', 'SW_REJECT_KIND_COUNT'));
  assert.deepEqual(byValue(SWITCH_TABLES), cTable(C, 'SW_TABLE_', 'SW_TABLE_COUNT'));
  assert.deepEqual(new Map(Object.entries(RouteKind).map(([k, v]) => [k.toLowerCase(), v])), cTable(C, 'SW_ROUTE_'));
  assert.deepEqual(new Map(Object.entries(SelectKind).map(([k, v]) => [k.toLowerCase(), v])), cTable(C, 'SW_SELECT_'));
  assert.equal(SW_MAGLEV_M, C.get('SW_MAGLEV_M'));
});
