// The benchmark's results: the stable contract of results.json. Scripts and
// the report read these fields; add fields, never rename or remove them.
import type { BackgroundLoad } from './background-load.js';

/** `direct` is the ceiling: pod to pod over the eBPF fast path, no Service. */
export type Mode = 'talaria' | 'iptables' | 'nftables' | 'direct';
export type Workload = 'http-keepalive' | 'http-close' | 'udp-rr' | 'tcp-bulk';

export const MODES: readonly Mode[] = ['talaria', 'iptables', 'nftables', 'direct'];
export const WORKLOADS: readonly Workload[] = ['http-keepalive', 'http-close', 'udp-rr', 'tcp-bulk'];

export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

/** One measured point of the sweep, one repeat. */
export interface Run {
  mode: Mode;
  workload: Workload;
  services: number;
  concurrency: number;
  repeat: number;
  /** Requests per second (tcp-bulk: null; see bitsPerSecond). */
  rps: number | null;
  /** tcp-bulk only: goodput. */
  bitsPerSecond: number | null;
  /** null where the workload has no per-request latency (tcp-bulk). */
  latencyMs: LatencyMs | null;
  requests: number;
  errors: number;
  durationSeconds: number;
  /** System + softirq CPU seconds of the whole machine per request (tcp-bulk: per GiB). */
  cpuSecondsPerRequest: number | null;
  /** The Talaria BPF programs' own run time per request (kernel BPF stats), where they ran. */
  bpfSecondsPerRequest: number | null;
  /** Context switches of the whole machine per request (/proc/stat ctxt). */
  contextSwitchesPerRequest: number | null;
  /** Rescheduling IPIs (cross-CPU wakeups) of the whole machine per request; null off x86. */
  reschedulingIpisPerRequest: number | null;
  /** Conntrack entries summed over the nodes, read right after the measurement. */
  conntrackEntries: number;
  conntrackBytes: number;
  /** Entries in the switch's tables (talaria mode), null elsewhere. */
  switchTableEntries: number | null;
}

/** Network-programming latency: a change made during the run, until it takes effect. */
export interface ProgrammingSample {
  mode: Mode;
  services: number;
  /** From the API change to the first request that reaches the new backend. */
  milliseconds: number;
}

/**
 * Creating a mode's Services through the real API server, and until the
 * last one answered. Every mode gets its own cluster (the network differs
 * between modes, and no rule, conntrack entry or pinned map of one proxy may
 * carry into another's figures), so every mode creates them.
 */
export interface SetupSample {
  mode: Mode;
  /** Services added (on top of those already there). */
  created: number;
  /** The API writes (testbed apply). */
  createSeconds: number;
  /** From the first write until the last Service answered through the proxy. */
  servingSeconds: number;
}

export interface Machine {
  hostname: string;
  kernel: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  versions: Record<string, string>;
}

export interface Parameters {
  quick: boolean;
  modes: Mode[];
  workloads: Workload[];
  services: number[];
  concurrency: number[];
  repeats: number;
  durationSeconds: number;
  nodes: number;
  podsPerNode: number;
  /** A process per core beside every measurement (`--background-load`), the same in every mode; absent: none. */
  backgroundLoad?: BackgroundLoad;
  /** sysctls set in the client pod's namespace (the load generator), the same in every mode. */
  clientSysctls?: Record<string, string>;
  startedAt: string;
  finishedAt?: string;
}

/** The baselines as they ran: the real kube-proxy, its version, its iptables and its configuration. */
export interface Baseline {
  version: string;
  /** iptables-legacy or iptables-nft on kube-proxy's PATH (iptables mode). */
  iptables: string;
  /** The command line and KubeProxyConfiguration of node-1's kube-proxy, by mode. */
  argv: Partial<Record<Mode, string[]>>;
  config: Partial<Record<Mode, Record<string, unknown>>>;
}

export interface Results {
  machine: Machine;
  /** Absent in results written before the baselines were the real kube-proxy. */
  kubeProxy?: Baseline;
  parameters: Parameters;
  runs: Run[];
  programming: ProgrammingSample[];
  /** Absent in results written before it was recorded. */
  setup?: SetupSample[];
  /** Points that could not be measured, with the reason: nothing is dropped silently. */
  failures: Array<{ mode: Mode; workload: Workload; services: number; concurrency: number; repeat: number; error: string }>;
}
