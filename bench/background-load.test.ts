import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastLevelCacheBytes, memoryLoadBytes, startBackgroundLoad } from './background-load.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
const cpuTicks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
};
const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

test('the last-level cache is the largest cache sysfs lists', () => {
  const root = mkdtempSync(join(tmpdir(), 'tl-cache-'));
  try {
    for (const [i, size] of ['48K', '2048K', '32M', 'junk'].entries()) {
      mkdirSync(join(root, `index${i}`));
      writeFileSync(join(root, `index${i}`, 'size'), `${size}\n`);
    }
    assert.equal(lastLevelCacheBytes(root), 32 * 1024 * 1024);
    assert.equal(lastLevelCacheBytes(join(root, 'missing')), undefined);
    assert.equal(memoryLoadBytes(32 * 1024 * 1024), 64 * 1024 * 1024, 'twice the cache');
    assert.equal(memoryLoadBytes(undefined), 64 * 1024 * 1024, 'at least 64 MiB');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('cpu load: one busy process per core while it runs, none after stop', async () => {
  const load = startBackgroundLoad('cpu', 2);
  try {
    await sleep(300);
    const before = load.pids.map(cpuTicks);
    await sleep(1000);
    const used = load.pids.map((pid, i) => cpuTicks(pid) - before[i]!);
    // A busy loop gets a fair share of a core; 5 ticks (50 ms) of a second is far below it.
    for (const t of used) assert.ok(t >= 5, `each load process burns CPU: ${used.join(', ')} ticks in 1 s`);
    assert.ok(load.kernelSeconds() >= 0 && load.kernelSeconds() < 5, `its kernel time is read: ${load.kernelSeconds()} s`);
  } finally {
    await load.stop();
  }
  for (const pid of load.pids) assert.ok(!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), `process ${pid} is gone`);
});

test('memory load: each process holds a buffer larger than the last-level cache', async () => {
  const load = startBackgroundLoad('memory', 1);
  try {
    const want = memoryLoadBytes(lastLevelCacheBytes());
    const deadline = Date.now() + 20_000;
    // The buffer is touched line by line in the first pass; RSS reaches it once the pass is done.
    while (rssBytes(load.pids[0]!) < want && Date.now() < deadline) await sleep(200);
    assert.ok(rssBytes(load.pids[0]!) >= want, `RSS ${rssBytes(load.pids[0]!)} B, buffer ${want} B`);
    assert.ok(want > (lastLevelCacheBytes() ?? 0), 'larger than the cache');
    // Faulting in the buffer is kernel time of the load's own, which the sweep subtracts.
    assert.ok(load.kernelSeconds() > 0, `the first pass page-faults in the kernel: ${load.kernelSeconds()} s`);
  } finally {
    await load.stop();
  }
});
