// P4Runtime write throughput end to end: N frontends with M backends in
// total (each frontend a group of M/N members), written as the controller
// would (members, groups, table entries) in batches, then read back.
// In-process server with the in-memory target by default; `--addr` measures
// a running server instead (e.g. the software switch; it must accept a new
// primary with election id 1e6 and its state is replaced).
//   node --import tsx p4/testing/write-bench.ts [--frontends 10000] [--backends 100000] [--batch 5000] [--addr HOST:PORT --device-id N]
import { parseArgs } from 'node:util';
import { P4RuntimeClient, buildGroup, buildMember, buildTableEntry, tableWildcard, talariaP4Info } from '../client/index.js';
import type { Update } from '../client/index.js';
import { Harness } from './harness.js';

const { values } = parseArgs({
  options: {
    frontends: { type: 'string', default: '10000' },
    backends: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '5000' },
    addr: { type: 'string' },
    'device-id': { type: 'string', default: '1' },
  },
});
const frontends = Number(values.frontends);
const backends = Number(values.backends);
const perFrontend = Math.max(1, Math.floor(backends / frontends));
const p4 = talariaP4Info();

const ip = (n: number, base: number): string => `${base}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
const insert = (entity: Update['entity']): Update => ({ type: 'INSERT', entity });

function desired(): { members: Update[]; groups: Update[]; entries: Update[] } {
  const members: Update[] = [];
  const groups: Update[] = [];
  const entries: Update[] = [];
  for (let f = 1; f <= frontends; f++) {
    const ids: number[] = [];
    for (let b = 0; b < perFrontend; b++) {
      const id = (f - 1) * perFrontend + b + 1;
      ids.push(id);
      const action = { name: 'to_backend', params: { backend_id: id, addr: ip(id, 10), port: 8080 } };
      members.push(insert(buildMember(p4, 'backend_selector', id, action)));
      entries.push(insert(buildTableEntry(p4, 'backends', { frontend_id: f, backend_id: id }, action)));
    }
    groups.push(insert(buildGroup(p4, 'backend_selector', f, ids.map((id) => ({ member_id: id, weight: 1 })))));
    entries.push(insert(buildTableEntry(p4, 'frontends', { dst_addr: ip(f, 11), dst_port: 80, protocol: 6 }, { name: 'set_frontend', params: { frontend_id: f, flags: 0 } })));
    entries.push(insert(buildTableEntry(p4, 'backend_select', { frontend_id: f }, { groupId: f })));
    entries.push(insert(buildTableEntry(p4, 'reverse_nat', { frontend_id: f }, { name: 'restore_frontend', params: { addr: ip(f, 11), port: 80 } })));
  }
  return { members, groups, entries };
}

async function main(): Promise<void> {
  const harness = values.addr ? undefined : new Harness();
  await harness?.start();
  const client = new P4RuntimeClient({
    address: values.addr ?? `127.0.0.1:${harness!.port}`,
    deviceId: values.addr ? BigInt(values['device-id']) : 7,
    electionId: 1_000_000n,
    deadlineMs: 120_000,
    maxBatch: Number(values.batch),
  });
  try {
    await client.arbitrate();
    await client.setPipeline(p4, { cookie: 1n });
    const { members, groups, entries } = desired();
    const total = members.length + groups.length + entries.length;
    // CPU time as well as wall time: on a shared machine the wall clock
    // mostly measures the neighbours.
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await client.write(members);
    await client.write(groups);
    await client.write(entries);
    const writeS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const t1 = performance.now();
    let read = 0;
    for await (const _ of client.read([tableWildcard(p4)])) read++;
    const readS = (performance.now() - t1) / 1000;
    console.log(JSON.stringify({
      target: values.addr ?? 'in-process memory target',
      frontends, backends: frontends * perFrontend, entities: total, batch: Number(values.batch),
      write_seconds: +writeS.toFixed(2), write_entities_per_s: Math.round(total / writeS),
      write_cpu_seconds: +cpuS.toFixed(2), write_entities_per_cpu_s: Math.round(total / cpuS),
      read_entries: read, read_seconds: +readS.toFixed(2), read_entries_per_s: Math.round(read / readS),
    }));
  } finally {
    await client.close();
    await harness?.close();
  }
}

await main();
