import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, encodeValue, fitsWidth, formatValue, isCanonical, padToWidth, toBigInt } from './bytestring.js';

test('values encode to the shortest big-endian bytes', () => {
  const cases: [Parameters<typeof encodeValue>[0], number, string][] = [
    [80, 16, '50'],
    [0, 32, '00'],
    [256, 16, '0100'],
    ['10.96.0.1', 32, '0a600001'],
    ['0.0.0.5', 32, '05'],
    ['aa:bb:cc:00:00:01', 48, 'aabbcc000001'],
    ['0x1ff', 9, '01ff'],
    [2n ** 32n - 1n, 32, 'ffffffff'],
    [Buffer.from('000050', 'hex'), 16, '50'],
  ];
  for (const [input, width, hex] of cases) assert.equal(encodeValue(input, width).toString('hex'), hex, `${String(input)}/${width}`);
});

test('values that do not fit or are not numbers are refused', () => {
  assert.throws(() => encodeValue(512, 9), /does not fit in 9 bits/);
  assert.throws(() => encodeValue(-1, 8), /not a non-negative integer/);
  assert.throws(() => encodeValue('10.0.0.256', 32), /not an IPv4 address|not a number/);
  assert.throws(() => encodeValue('abc', 8), /not a number/);
});

test('padding, canonical checks and formatting', () => {
  assert.equal(padToWidth(Buffer.from([0x50]), 16).toString('hex'), '0050');
  assert.equal(canonicalize(Buffer.from('0000', 'hex')).toString('hex'), '00');
  assert.equal(isCanonical(Buffer.from('0050', 'hex')), false);
  assert.equal(isCanonical(Buffer.from('00', 'hex')), true);
  assert.equal(isCanonical(Buffer.alloc(0)), false);
  assert.equal(fitsWidth(Buffer.from('0200', 'hex'), 9), false);
  assert.equal(fitsWidth(Buffer.from('0001ff', 'hex'), 9), true);
  assert.equal(toBigInt(Buffer.from('0102', 'hex')), 258n);
  assert.equal(formatValue(Buffer.from('0a600001', 'hex'), 32, 'dst_addr'), '10.96.0.1');
  assert.equal(formatValue(Buffer.from('01', 'hex'), 48, 'dst_mac'), '00:00:00:00:00:01');
  assert.equal(formatValue(Buffer.from('1f90', 'hex'), 16, 'port'), '8080');
  assert.equal(formatValue(Buffer.from('0a600001', 'hex'), 32, 'frontend_id'), '174063617');
});
