// The TypeScript layouts of the host maps agree with the C structs (BTF of
// the compiled object), and the enums agree in length with the C enums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { layoutProblems } from '../loader/btf-layout.js';
import * as hostMaps from './host-maps.js';
import { HOST_DROP_REASONS, HOST_EVENTS, HOST_LAYOUTS } from './host-maps.js';
import { cConstants, cTable } from '../testing/c-constants.js';
import { defaultObjectPath } from '../../nodeagent/datapath.js';

const object = defaultObjectPath({ rebuild: true });
// The checkout: build/bpf/host.bpf.o -> the root with bpf/include.
const root = dirname(dirname(dirname(object)));

test('every host map layout matches its C struct', () => {
  assert.ok(existsSync(object));
  for (const [name, codec] of HOST_LAYOUTS) {
    assert.deepEqual(layoutProblems(object, `struct ${name}`, codec), [], name);
  }
});

test('drop reasons and events cover the C enums', async () => {
  const consts = await readFile(join(root, 'bpf', 'include', 'host_consts.h'), 'utf8');
  const dropMax = Number(/HOST_DROP_MAX = (\d+)/.exec(consts)?.[1]);
  const evMax = Number(/HOST_EV_MAX = (\d+)/.exec(consts)?.[1]);
  assert.equal(HOST_DROP_REASONS.length, dropMax);
  assert.equal(HOST_EVENTS.length, evMax);
  for (const [i, reason] of HOST_DROP_REASONS.entries()) {
    assert.match(consts, new RegExp(`HOST_DROP_${reason.toUpperCase()} = ${i},`), reason);
  }
  for (const [i, ev] of HOST_EVENTS.entries()) {
    assert.match(consts, new RegExp(`HOST_EV_${ev.toUpperCase()} = ${i},`), ev);
  }
});

test('host flags and the hairpin address equal bpf/include/host_consts.h', () => {
  const C = cConstants('host_consts.h');
  const ts = (prefix: string, table: Record<string, unknown>): Map<string, number> =>
    new Map(Object.entries(table).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length).toLowerCase(), v as number]));
  for (const prefix of ['HOST_CFG_F_', 'HOST_FE_F_', 'HOST_CONN_F_']) assert.deepEqual(ts(prefix, hostMaps), cTable(C, prefix), prefix);
  const [a, b, c, d] = hostMaps.HOST_HAIRPIN_ADDR.split('.').map(Number) as [number, number, number, number];
  assert.equal((((a << 24) | (b << 16) | (c << 8) | d) >>> 0), C.get('HOST_HAIRPIN_ADDR'));
});
