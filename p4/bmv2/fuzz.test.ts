// The same fuzzed writes as p4/server/fuzz.test.ts, against talaria.p4 on
// BMv2's own P4Runtime server (PI): what the reference target answers is
// held to the same properties. Needs the P4 toolchain; says so when absent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzWrites } from '../testing/fuzz-writes.js';
import type { KnownDeviation } from '../testing/fuzz-writes.js';
import { findP4Tools } from './toolchain.js';
import { talariaP4Info } from '../p4info/load-p4info.js';
import { TalariaOnBmv2 } from './talaria-on-bmv2.js';

const SEED = Number(process.env.TALARIA_FUZZ_SEED ?? 20261204);
const REQUESTS = Number(process.env.TALARIA_FUZZ_REQUESTS ?? 1500);
/**
 * Where PI (BMv2's P4Runtime server) departs from the spec, as this fuzzer
 * found it: counted and printed, not failed, since Talaria does not own PI.
 * Talaria's own server (p4/server/fuzz.test.ts) has none of them.
 */
const PI_DEVIATIONS: KnownDeviation[] = [
  { description: 'an update with no entity is refused with UNKNOWN, not INVALID_ARGUMENT', pattern: /refused with UNKNOWN: update #\d+ \w+ entity: Incorrect entity type$/ },
  { description: 'binding a table entry to an empty action profile group is refused with UNKNOWN, not FAILED_PRECONDITION', pattern: /refused with UNKNOWN: update #\d+ (INSERT|MODIFY) backend_select\{[^}]*\}: Error when (adding match entry to|modifying match entry in) target$/ },
  { description: 'deleting a member or group still in use is refused with UNKNOWN, not FAILED_PRECONDITION', pattern: /refused with UNKNOWN: update #\d+ DELETE backend_selector (member|group) \d+: Error when deleting (member|group) on target$/ },
  { description: 'a refused action profile group insert leaves the group behind, empty', pattern: /a refused (update|\w+ batch of \d+) changed the switch: 0 entities gone, 1 appeared \(first: \{"action_profile_group":\{"members":\[\]/ },
  // Seen with seed 20261204 while source_ranges was not yet among the seeds:
  // deleting such a left-behind group (named with members) let PI delete a
  // member that a backend_select entry still used, and every Read after that
  // failed. The test then sets the pipeline again (which empties the
  // switch) and goes on.
  { description: 'after a refused group insert, PI lets a member still in use be deleted and then fails every Read (INTERNAL: Invalid indirect handle)', pattern: /the switch does not answer a read after the write: P4Runtime Read failed: INTERNAL: Invalid indirect handle$/ },
];

const tools = findP4Tools();
const skip = typeof tools === 'string' && `P4Runtime fuzzing on BMv2 did not run: ${tools}`;
if (skip) process.stdout.write(`# ${skip}\n`);

let sw: TalariaOnBmv2 | undefined;

before(async () => {
  if (typeof tools !== 'string') sw = await TalariaOnBmv2.start(tools, 'tl-fuzz');
});

after(() => sw?.close());

test('fuzzed writes on BMv2 (PI): no crash; every departure from the properties is one of PI\'s known ones', { skip }, async () => {
  const reset = () => sw!.client.setPipeline(talariaP4Info(), { cookie: 1, deviceConfig: sw!.program.json });
  const report = await fuzzWrites(sw!.client, { seed: SEED, requests: REQUESTS, known: PI_DEVIATIONS, reset });
  process.stdout.write(`# BMv2 (PI): ${report.requests} requests, ${report.accepted} applied, refused ${JSON.stringify(report.refused)}; known deviations ${JSON.stringify(report.known)}; reset ${report.resets} time(s)\n`);
  assert.deepEqual(report.problems, []);
  assert.ok(report.accepted > REQUESTS / 10, `only ${report.accepted} of ${report.requests} requests applied`);
});
