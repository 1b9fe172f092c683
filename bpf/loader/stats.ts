// Per-program run time and run count from the kernel's BPF stats, which the
// node agent exports as metrics. The kernel counts only while stats are
// enabled: enableBpfStats() holds an fd that keeps them on (no sysctl to
// restore, and they switch off by themselves when the process dies).
import { closeSync, readFileSync } from 'node:fs';
import { BpfError } from './errors.js';
import { lib } from './libbpf.js';
import type { ProgramRef } from './program.js';

const BPF_STATS_RUN_TIME = 0;

export interface ProgramStats {
  readonly id: number;
  /** The kernel's name of the program (at most 15 characters). */
  readonly name: string;
  /** Total time spent in the program while stats were enabled, ns. */
  readonly runTimeNs: number;
  readonly runCount: number;
  readonly recursionMisses: number;
}

/** Keeps kernel BPF run-time stats on until close(). */
export interface StatsHandle {
  close(): void;
}

/** Turns kernel BPF stats on (bpf_enable_stats(BPF_STATS_RUN_TIME)) until the handle is closed. */
export function enableBpfStats(): StatsHandle {
  const fd = lib().bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) throw new BpfError({ call: 'bpf_enable_stats', object: 'BPF_STATS_RUN_TIME', errno: -fd });
  let open = true;
  return {
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Whether the kernel currently counts (by sysctl or by someone's enable fd). */
export function bpfStatsEnabled(): boolean {
  return readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim() !== '0';
}

/** Run time and count of one program (bpf_obj_get_info_by_fd on its fd). */
export function programStats(prog: ProgramRef): ProgramStats {
  // struct bpf_prog_info: id @4, name @64 (16), run_time_ns @192, run_cnt @200, recursion_misses @208.
  const info = Buffer.alloc(232);
  const len = new Uint32Array([info.length]);
  const ret = lib().bpf_obj_get_info_by_fd(prog.fd, info, len);
  if (ret < 0) throw new BpfError({ call: 'bpf_obj_get_info_by_fd', object: prog.name, errno: -ret });
  return {
    id: info.readUInt32LE(4),
    name: info.toString('utf8', 64, 80).replace(/\0.*$/s, ''),
    runTimeNs: Number(info.readBigUInt64LE(192)),
    runCount: Number(info.readBigUInt64LE(200)),
    recursionMisses: Number(info.readBigUInt64LE(208)),
  };
}
