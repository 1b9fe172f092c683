// The patch formats as kubectl and client-node send them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './errors.js';
import { jsonPatch, mergePatch, patchTypeOf, strategicMergePatch } from './patch.js';

describe('patches', () => {
  it('maps content types to patch types and refuses apply patches', () => {
    assert.equal(patchTypeOf('application/merge-patch+json'), 'merge');
    assert.equal(patchTypeOf('application/strategic-merge-patch+json; charset=utf-8'), 'strategic');
    assert.equal(patchTypeOf('application/json-patch+json'), 'json');
    assert.throws(() => patchTypeOf('application/apply-patch+yaml'), (e) => e instanceof ApiError && e.code === 415);
  });

  it('merge patch: objects merge, null deletes, lists replace', () => {
    assert.deepEqual(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: null, d: 3 }, l: [3] }), { a: { b: 1, d: 3 }, l: [3] });
  });

  it('JSON patch: add, remove, replace, move, copy, test', () => {
    const doc = { metadata: { labels: { a: '1' } }, spec: { ports: [{ port: 80 }] } };
    const out = jsonPatch(doc, [
      { op: 'add', path: '/metadata/labels/b', value: '2' },
      { op: 'remove', path: '/metadata/labels/a' },
      { op: 'add', path: '/spec/ports/-', value: { port: 81 } },
      { op: 'replace', path: '/spec/ports/0/port', value: 8080 },
      { op: 'copy', from: '/metadata/labels/b', path: '/metadata/labels/c' },
      { op: 'move', from: '/metadata/labels/c', path: '/metadata/labels/d' },
      { op: 'test', path: '/metadata/labels/d', value: '2' },
    ]);
    assert.deepEqual(out, { metadata: { labels: { b: '2', d: '2' } }, spec: { ports: [{ port: 8080 }, { port: 81 }] } });
    assert.deepEqual(doc.metadata.labels, { a: '1' }); // the input is untouched
    assert.throws(() => jsonPatch(doc, [{ op: 'test', path: '/metadata/labels/a', value: 'x' }]), ApiError);
    assert.throws(() => jsonPatch(doc, [{ op: 'replace', path: '/nope/x', value: 1 }]), ApiError);
  });

  it('strategic merge patch: lists merge by key, with kubectl apply\'s directives', () => {
    const svc = { spec: { ports: [{ name: 'a', port: 80, protocol: 'TCP' }, { name: 'b', port: 81 }], selector: { app: 'x', tier: 'y' } } };
    const cases: Array<[string, unknown, unknown]> = [
      ['a port changes in place', { spec: { ports: [{ port: 80, targetPort: 8080 }] } }, [{ name: 'a', port: 80, protocol: 'TCP', targetPort: 8080 }, { name: 'b', port: 81 }]],
      ['$patch delete removes by key, new ones append', { spec: { ports: [{ port: 82 }, { $patch: 'delete', port: 80 }] } }, [{ name: 'b', port: 81 }, { port: 82 }]],
      ['$setElementOrder orders', { spec: { '$setElementOrder/ports': [{ port: 81 }, { port: 80 }] } }, [{ name: 'b', port: 81 }, { name: 'a', port: 80, protocol: 'TCP' }]],
      ['$patch replace in a list replaces it', { spec: { ports: [{ $patch: 'replace' }, { port: 9 }] } }, [{ port: 9 }]],
    ];
    for (const [what, patch, ports] of cases) {
      assert.deepEqual((strategicMergePatch(structuredClone(svc), patch) as typeof svc).spec.ports, ports, what);
    }
    const pod = { spec: { containers: [{ name: 'c', image: 'a', ports: [{ containerPort: 80 }] }, { name: 'd', image: 'b' }] }, metadata: { finalizers: ['x'] } };
    const out = strategicMergePatch(pod, { spec: { containers: [{ name: 'd', image: 'c' }] }, metadata: { finalizers: ['y'], '$deleteFromPrimitiveList/finalizers': ['x'] } }) as typeof pod;
    assert.deepEqual(out.spec.containers.map((c) => c.image), ['a', 'c']);
    assert.deepEqual(out.metadata.finalizers, ['y']);
    assert.deepEqual(strategicMergePatch({ spec: { a: 1, b: 2 } }, { spec: { $retainKeys: ['a'], a: 3 } }), { spec: { a: 3 } });
    assert.deepEqual(strategicMergePatch({ spec: { m: { a: 1 } } }, { spec: { m: { $patch: 'replace', b: 2 } } }), { spec: { m: { b: 2 } } });
  });
});
