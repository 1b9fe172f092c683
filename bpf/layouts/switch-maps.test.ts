import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { layoutProblems } from '../loader/btf-layout.js';
import { bpfObjectPath } from '../testing/paths.js';
import { SWITCH_STRUCTS } from './switch-maps.js';

const object = bpfObjectPath('switch');

test('every switch map layout matches its C struct (BTF of build/bpf/switch.bpf.o)', { skip: !existsSync(object) && 'build/bpf/switch.bpf.o not built (make -C bpf)' }, () => {
  for (const codec of SWITCH_STRUCTS) {
    assert.deepEqual(layoutProblems(object, `struct ${codec.name}`, codec), [], codec.name);
  }
});
