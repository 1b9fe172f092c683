import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { layoutProblems } from '../loader/btf-layout.js';
import { bpfObjectPath } from '../testing/paths.js';
import { TALARIA_OPT_LEN, TalariaKind, decodeShim, encodeShim, talariaShimCodec, verKind } from './shim.js';

describe('shim layout', () => {
  it('matches struct talaria_shim in the BTF of a program that uses it', () => {
    assert.deepEqual(layoutProblems(bpfObjectPath('test_counter'), 'struct talaria_shim', talariaShimCodec), []);
  });

  it('encodes the option bytes of DESIGN.md (type 0x9e, length 12, version 1 in the high nibble)', () => {
    const buf = Buffer.alloc(TALARIA_OPT_LEN);
    encodeShim({ kind: TalariaKind.TO_BACKEND, frontendId: 0x01020304, backendId: 0x0a0b0c0d, flags: 0x80 }, buf);
    assert.equal(buf.toString('hex'), '9e0c1380010203040a0b0c0d');
    assert.equal(verKind(TalariaKind.REPLY), 0x14);
    assert.deepEqual(decodeShim(buf), { kind: 3, version: 1, flags: 0x80, frontendId: 0x01020304, backendId: 0x0a0b0c0d });
  });

  it('does not mistake another IPv4 option for the shim', () => {
    const buf = Buffer.from('940400000000000000000000', 'hex'); // router alert, padded
    assert.equal(decodeShim(buf), undefined);
  });
});
