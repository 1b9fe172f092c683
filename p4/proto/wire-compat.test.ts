// Wire compatibility of Talaria's hand-written .proto files with the official
// p4runtime Python package: every message and enum Talaria declares must
// exist there with the same field numbers, types, repetition and oneof
// membership. Skipped (with the reason) only when the package is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { P4_DIR } from '../paths.js';
import { PYTHON } from '../interop/python.js';
import { protoRoot } from './load.js';

interface Reference {
  messages: Record<string, Record<string, { number: number; type: string; repeated: boolean; oneof: string | null }>>;
  enums: Record<string, Record<string, number>>;
}

function loadReference(): Reference | string {
  const run = spawnSync(PYTHON, [join(P4_DIR, 'interop', 'dump_descriptors.py')], { encoding: 'utf8' });
  if (run.error) return `${PYTHON} not runnable: ${run.error.message}`;
  if (run.status !== 0) {
    if (/No module named 'p4'/.test(run.stderr)) return 'the p4runtime Python package is not installed (pip install p4runtime)';
    throw new Error(`dump_descriptors.py failed: ${run.stderr}`);
  }
  return JSON.parse(run.stdout) as Reference;
}

function ours(): { messages: protobuf.Type[]; enums: protobuf.Enum[] } {
  const messages: protobuf.Type[] = [];
  const enums: protobuf.Enum[] = [];
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Type) messages.push(child);
      if (child instanceof protobuf.Enum) enums.push(child);
      if (child instanceof protobuf.Namespace || child instanceof protobuf.Type) visit(child);
    }
  };
  for (const pkg of ['p4.v1', 'p4.config.v1']) visit(protoRoot().lookup(pkg) as protobuf.Namespace);
  return { messages, enums };
}

const strip = (name: string): string => name.replace(/^\./, '');
const reference = loadReference();

test('every field of every Talaria message matches the official p4runtime package', { skip: typeof reference === 'string' ? reference : false }, () => {
  const ref = reference as Reference;
  const { messages } = ours();
  assert.ok(messages.length > 50, 'walked the p4.v1 and p4.config.v1 packages');
  for (const type of messages) {
    const name = strip(type.fullName);
    const theirs = ref.messages[name];
    assert.ok(theirs, `${name} exists in the official package`);
    for (const field of type.fieldsArray) {
      const other = theirs[field.name];
      assert.ok(other, `${name}.${field.name} exists in the official package`);
      const ourType = field.resolvedType ? strip(field.resolvedType.fullName) : field.type;
      assert.deepEqual(
        { number: field.id, type: ourType, repeated: field.repeated, oneof: field.partOf?.name ?? null },
        other,
        `${name}.${field.name}`,
      );
    }
  }
});

test('every enum value Talaria declares has the official number', { skip: typeof reference === 'string' ? reference : false }, () => {
  const ref = reference as Reference;
  for (const e of ours().enums) {
    const name = strip(e.fullName);
    assert.ok(ref.enums[name], `${name} exists in the official package`);
    for (const [value, number] of Object.entries(e.values)) {
      assert.equal(ref.enums[name][value], number, `${name}.${value}`);
    }
  }
});

test('the messages Talaria exchanges are all declared', () => {
  for (const name of ['p4.v1.WriteRequest', 'p4.v1.ReadResponse', 'p4.v1.StreamMessageResponse', 'p4.v1.Error',
    'p4.v1.DirectCounterEntry', 'p4.v1.ActionProfileGroup', 'p4.config.v1.P4Info', 'google.rpc.Status']) {
    assert.ok(protoRoot().lookupType(name), name);
  }
});
