// The TypeScript layouts of the host maps agree with the C structs (BTF of
// the compiled object), and the enums agree in length with the C enums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { layoutProblems } from '../loader/btf-layout.js';
import { HOST_DROP_REASONS, HOST_EVENTS, HOST_LAYOUTS } from './host-maps.js';
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
