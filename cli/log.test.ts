import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { klogJson, klogText, makeLog } from './log.js';

void describe('log lines', () => {
  const at = new Date('2026-12-04T16:03:10.123Z');
  void it('text is klog\'s header with the component as source', () => {
    assert.equal(klogText('controller', 'running as x', at, 4242), 'I1204 16:03:10.123000    4242 controller] running as x');
  });
  void it('json is one object per line with klog\'s keys', () => {
    assert.deepEqual(JSON.parse(klogJson('nodeagent', 'ready', at)), { ts: 1796400190.123, caller: 'nodeagent', msg: 'ready', v: 0 });
  });
  void it('a multi-line message stays one record', () => {
    const lines: string[] = [];
    makeLog('softswitch', 'text', (l) => lines.push(l))('failed:\nat x');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /softswitch\] failed:\n {4}at x\n$/);
    makeLog('softswitch', 'json', (l) => lines.push(l))('a\nb');
    assert.equal(JSON.parse(lines[1]!).msg, 'a\nb');
  });
});
