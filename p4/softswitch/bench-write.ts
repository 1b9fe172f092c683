// P4Runtime write throughput into the software switch, end to end: a
// P4RuntimeClient over gRPC (localhost) -> the generic server (validation,
// entity store) -> the eBPF target -> map writes. The server runs in a child
// process, as the real switch would, so that its CPU time is measured apart
// from the client's. Installs F frontends with B backends each (default
// 10,000 x 10 = 100,000 backends), in the order a controller would (members,
// groups, then table entries).
//
// Run: node --import tsx p4/softswitch/bench-write.ts [--frontends 10000] [--backends-per-frontend 10] [--target memory]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { P4RuntimeClient } from '../client/index.js';
import { talariaP4Info } from '../p4info/load-p4info.js';
import type { Entity } from '../proto/types.js';
import { MemoryTarget } from '../server/memory-target.js';
import { P4RuntimeServer } from '../server/server.js';
import { SwitchDatapath } from './datapath.js';
import { EbpfTarget } from './ebpf-target.js';
import { TalariaEntities } from './wire-entities.js';

const { values } = parseArgs({
  options: {
    frontends: { type: 'string', default: '10000' },
    'backends-per-frontend': { type: 'string', default: '10' },
    batch: { type: 'string', default: '5000' },
    // Writes in flight at once within a phase (entries of one phase are independent):
    // the client encodes the next batch while the server applies one.
    concurrency: { type: 'string', default: '2' },
    // 'memory': the server's in-memory target, to tell server cost from map cost.
    target: { type: 'string', default: 'ebpf' },
    serve: { type: 'boolean', default: false },
  },
});
const F = Number(values.frontends);
const N = Number(values['backends-per-frontend']);
const BATCH = Number(values.batch);
const CONCURRENCY = Math.max(1, Number(values.concurrency));

const addr = (i: number): string => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const podAddr = (i: number): string => `10.${244 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

function phases(e: TalariaEntities): { name: string; entities: Entity[] }[] {
  const members: Entity[] = [];
  const groups: Entity[] = [];
  const frontends: Entity[] = [];
  const selects: Entity[] = [];
  const backends: Entity[] = [];
  const reverse: Entity[] = [];
  for (let f = 1; f <= F; f++) {
    const ids: [number, number][] = [];
    for (let b = 0; b < N; b++) {
      const bid = (f - 1) * N + b + 1;
      members.push(e.member(bid, bid, podAddr(bid), 8080));
      backends.push(e.backend(f, bid, podAddr(bid), 8080));
      ids.push([bid, 1]);
    }
    groups.push(e.group(f, ids, 256));
    frontends.push(e.frontend(addr(f), 80, 6, f));
    selects.push(e.backendSelect(f, { groupId: f }));
    reverse.push(e.reverseNat(f, addr(f), 80));
  }
  return [
    { name: 'members', entities: members },
    { name: 'groups (Maglev tables)', entities: groups },
    { name: 'frontends', entities: frontends },
    { name: 'backend_select', entities: selects },
    { name: 'backends', entities: backends },
    { name: 'reverse_nat', entities: reverse },
  ];
}

/** The server side: P4Runtime server on the chosen target; answers CPU-time queries over IPC. */
async function serve(): Promise<void> {
  const datapath = values.target === 'memory' ? undefined : SwitchDatapath.load();
  const target = datapath ? new EbpfTarget({ datapath }) : new MemoryTarget();
  const server = new P4RuntimeServer({ deviceId: 1, target });
  const port = await server.start('127.0.0.1:0');
  process.on('message', (m: string) => {
    if (m === 'cpu') {
      const c = process.cpuUsage();
      process.send!({ cpu: (c.user + c.system) / 1e6 });
    } else if (m === 'check') {
      const lut = datapath?.maps.group_luts.lookup(1);
      process.send!({ check: datapath ? `group 1 table at ${lut?.base} (${lut?.size} slots); frontends in the map: ${[...datapath.maps.frontends.keys()].length}` : 'memory target' });
    } else if (m === 'stop') {
      void server.stop().then(() => {
        datapath?.close();
        process.exit(0);
      });
    }
  });
  process.send!({ port, description: target.description });
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', '--target', values.target!], { execArgv: [...(import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : []), ...(process.env.BENCH_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`] : [])], stdio: 'inherit' });
  const ask = (m: string): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      child.once('message', (r) => resolve(r as Record<string, unknown>));
      child.send(m);
    });
  const hello = await new Promise<{ port: number; description: string }>((resolve, reject) => {
    child.once('message', (r) => resolve(r as { port: number; description: string }));
    child.once('exit', (c) => reject(new Error(`server exited with ${c}`)));
  });
  const client = new P4RuntimeClient({ address: `127.0.0.1:${hello.port}`, deviceId: 1, electionId: 1, deadlineMs: 600_000 });
  try {
    await client.connect();
    await client.arbitrate();
    await client.setPipeline(talariaP4Info());
    const plan = phases(new TalariaEntities());
    let total = 0;
    const t0 = process.hrtime.bigint();
    const cpuStart = (await ask('cpu')).cpu as number;
    let cpuPrev = cpuStart;
    process.stdout.write(`phase                    entities   wall s  entities/s   server CPU s  entities per server CPU-s\n`);
    for (const p of plan) {
      const s = process.hrtime.bigint();
      const updates = p.entities.map((entity) => ({ type: 'INSERT' as const, entity }));
      const chunks: (typeof updates)[] = [];
      for (let i = 0; i < updates.length; i += BATCH) chunks.push(updates.slice(i, i + BATCH));
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < chunks.length) await client.write(chunks[next++]!, { maxBatch: BATCH });
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, lane));
      const sec = Number(process.hrtime.bigint() - s) / 1e9;
      const cpu = (await ask('cpu')).cpu as number;
      total += p.entities.length;
      const line = [p.name.padEnd(24), String(p.entities.length).padStart(8), sec.toFixed(2).padStart(8), String(Math.round(p.entities.length / sec)).padStart(11), (cpu - cpuPrev).toFixed(2).padStart(14), String(Math.round(p.entities.length / (cpu - cpuPrev))).padStart(26)];
      process.stdout.write(`${line.join(' ')}\n`);
      cpuPrev = cpu;
    }
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuPrev - cpuStart;
    process.stdout.write(`${'total'.padEnd(24)} ${String(total).padStart(8)} ${sec.toFixed(2).padStart(8)} ${String(Math.round(total / sec)).padStart(11)} ${cpu.toFixed(2).padStart(14)} ${String(Math.round(total / cpu)).padStart(26)}\n`);
    process.stdout.write(`(${F} frontends, ${F * N} backends, batches of ${BATCH}, ${CONCURRENCY} in flight, target ${hello.description}; the machine may be shared, so CPU time is the steadier figure)\n`);
    process.stdout.write(`check: ${String((await ask('check')).check)}\n`);
  } finally {
    await client.close();
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.send('stop');
    });
  }
}

if (values.serve) await serve();
else await main();
