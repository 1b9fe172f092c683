// The P4Runtime server under random and mutated writes (p4/testing/fuzz-writes.ts
// says what is checked), on the in-memory target and on the eBPF software
// switch's maps. A fixed seed here; TALARIA_FUZZ_REQUESTS and
// TALARIA_FUZZ_SEED run it longer or elsewhere.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Harness } from '../testing/harness.js';
import { MemoryTarget } from './memory-target.js';
import type { P4Target } from './target.js';
import type { P4RuntimeClient } from '../client/client.js';
import { fuzzWrites } from '../testing/fuzz-writes.js';
import type { FuzzReport } from '../testing/fuzz-writes.js';
import { bpfObjectPath } from '../../bpf/testing/paths.js';
import { Code } from '../proto/codes.js';

const SEED = Number(process.env.TALARIA_FUZZ_SEED ?? 20261204);
const REQUESTS = Number(process.env.TALARIA_FUZZ_REQUESTS ?? 1500);

function check(report: FuzzReport): void {
  assert.deepEqual(report.problems, []);
  // The generator must reach both sides: writes that apply and each kind of refusal.
  assert.ok(report.accepted > REQUESTS / 10, `only ${report.accepted} of ${report.requests} requests applied`);
  for (const code of ['INVALID_ARGUMENT', 'NOT_FOUND', 'ALREADY_EXISTS']) assert.ok((report.refused[code] ?? 0) > 0, `no refusal with ${code}: ${JSON.stringify(report.refused)}`);
}

/** A server on `target` with a primary client, for `body`; closed after. */
async function withServer<T extends P4Target>(target: T, body: (h: Harness<T>, client: P4RuntimeClient) => Promise<void>): Promise<void> {
  const h = new Harness(target);
  await h.start();
  try {
    await body(h, await h.primary());
  } finally {
    await h.close();
  }
}

test('fuzzed writes on the in-memory target: no crash, refused writes change nothing, spec codes only', () =>
  withServer(new MemoryTarget(), async (_h, client) => check(await fuzzWrites(client, { seed: SEED, requests: REQUESTS }))));

test('the fuzzer reports what it must: a target that fails with INTERNAL', () =>
  withServer(new MemoryTarget(), async (h, client) => {
    h.target.failNextApply(Code.INTERNAL, 'injected', 1000);
    const report = await fuzzWrites(client, { seed: SEED, requests: 200 });
    assert.ok(report.problems.length > 0 && report.problems.every((p) => /refused with INTERNAL: update #\d+ /.test(p)), report.problems.join('\n'));
    assert.match(report.problems[0]!, new RegExp(`^seed ${SEED}, request \\d+: `));
  }));

const switchSkip = (!existsSync(bpfObjectPath('switch')) && 'build/bpf/switch.bpf.o not built (make -C bpf)') || (process.getuid?.() !== 0 && 'needs root');

test('fuzzed writes on the eBPF software switch: no crash, refused writes change nothing, spec codes only', { skip: switchSkip }, async () => {
  const { SoftswitchFixture } = await import('../softswitch/softswitch-fixture.js');
  const fixture = await SoftswitchFixture.create();
  try {
    await withServer(fixture.target, async (_h, client) => check(await fuzzWrites(client, { seed: SEED, requests: REQUESTS })));
  } finally {
    fixture.close();
  }
});
