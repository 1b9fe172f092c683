// Map update throughput from TypeScript into a BPF hash map: single updates
// (one bpf() syscall each, through koffi) and batched updates
// (BPF_MAP_UPDATE_BATCH). Not a test: run it by hand and read the figures.
//   node --import tsx bpf/loader/bench-map-update.ts [entries] [repeats]
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { bpfObjectPath } from '../testing/paths.js';
import { u32, u64 } from './codec.js';
import { lib } from './libbpf.js';
import { BpfObject } from './object.js';

const entries = Number(process.argv[2] ?? 50_000);
const repeats = Number(process.argv[3] ?? 5);

function summary(name: string, rates: number[]): string {
  const s = [...rates].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)]!;
  const k = (x: number): string => `${(x / 1000).toFixed(0)}k`;
  return `${name.padEnd(34)} median ${k(median).padStart(6)}/s   min ${k(s[0]!).padStart(6)}/s   max ${k(s.at(-1)!).padStart(6)}/s   spread ±${((100 * (s.at(-1)! - s[0]!)) / 2 / median).toFixed(1)}%`;
}

const obj = BpfObject.open(bpfObjectPath('test_counter'));
try {
  const map = obj.map('bench', u32, u64);
  if (entries > map.info.maxEntries) throw new Error(`at most ${map.info.maxEntries} entries`);
  const data = Array.from({ length: entries }, (_, i) => [i, BigInt(i) * 7n] as const);
  const measure = (fn: () => void): number[] => {
    const rates: number[] = [];
    for (let r = 0; r < repeats + 1; r++) {
      map.clear();
      const t0 = performance.now();
      fn();
      const dt = (performance.now() - t0) / 1000;
      if (r > 0) rates.push(entries / dt); // the first round warms up the JIT
    }
    return rates;
  };

  const rawKeys = Buffer.alloc(4 * entries);
  const rawValues = Buffer.alloc(8 * entries);
  data.forEach(([k, v], i) => {
    rawKeys.writeUInt32LE(k, 4 * i);
    rawValues.writeBigUInt64LE(v, 8 * i);
  });
  const l = lib();
  const fd = map.fd;

  console.log(`hash map u32 -> u64, ${entries} new entries per round, ${repeats} rounds (after one warm-up); ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)}`);
  console.log(summary('update() one by one (typed)', measure(() => {
    for (const [k, v] of data) map.update(k, v);
  })));
  console.log(summary('bpf_map_update_elem (raw buffers)', measure(() => {
    for (let i = 0; i < entries; i++) l.bpf_map_update_elem(fd, rawKeys.subarray(4 * i, 4 * i + 4), rawValues.subarray(8 * i, 8 * i + 8), 0);
  })));
  console.log(summary('updateBatch() (typed, 8192/call)', measure(() => {
    map.updateBatch(data);
  })));
  map.clear();
} finally {
  obj.close();
}
