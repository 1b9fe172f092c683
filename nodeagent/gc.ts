// Idle-entry collection for the LRU connection, reply and affinity maps.
// The programs stamp every entry with bpf_ktime_get_ns() (CLOCK_MONOTONIC,
// the clock of process.hrtime.bigint()); FIN or RST marks an entry closing,
// which gets the short timeout. LRU eviction is only the last resort: it
// breaks the oldest connections when a map is full.
import type { BpfMap } from '../bpf/loader/map.js';
import { HOST_CONN_F_CLOSING } from '../bpf/layouts/host-maps.js';
import type { HostAffinityKey, HostConn, HostFlow, HostFrontendKey, HostReply } from '../bpf/layouts/host-maps.js';

export interface GcTimeouts {
  /** Idle TCP connection (kube-proxy sets conntrack's established timeout to 24 h). */
  tcpS: number;
  /** TCP after FIN or RST. */
  tcpClosingS: number;
  /** UDP and everything else. */
  udpS: number;
}

export const DEFAULT_GC_TIMEOUTS: GcTimeouts = { tcpS: 86_400, tcpClosingS: 60, udpS: 120 };

export interface GcMapStats {
  /** Entries seen (the occupancy, minus what was deleted). */
  entries: number;
  deleted: number;
}

export interface GcStats {
  conns: GcMapStats;
  replies: GcMapStats;
  affinity: GcMapStats;
}

const NS = 1_000_000_000n;

function idleLimitNs(proto: number, flags: number, t: GcTimeouts): bigint {
  if (proto === 6) return BigInt(flags & HOST_CONN_F_CLOSING ? t.tcpClosingS : t.tcpS) * NS;
  return BigInt(t.udpS) * NS;
}

function collect<K, V extends { last_seen_ns: bigint }>(map: BpfMap<K, V>, expired: (k: K, v: V) => boolean): GcMapStats {
  const victims: K[] = [];
  let entries = 0;
  for (const [k, v] of map.entries()) {
    entries++;
    if (expired(k, v)) victims.push(k);
  }
  let deleted = 0;
  for (const k of victims) {
    // The datapath may have refreshed it since we read it.
    const v = map.lookup(k);
    if (v && expired(k, v) && map.tryDelete(k)) deleted++;
  }
  return { entries: entries - deleted, deleted };
}

/**
 * Deletes idle entries. `affinityTimeoutS` gives the current ClientIP
 * timeout of a frontend (undefined when it no longer has affinity: the
 * entry goes).
 */
export function collectIdle(
  maps: { conns: BpfMap<HostFlow, HostConn>; replies: BpfMap<HostFlow, HostReply>; affinity: BpfMap<HostAffinityKey, HostConn> },
  nowNs: bigint,
  timeouts: GcTimeouts,
  affinityTimeoutS: (fe: HostFrontendKey) => number | undefined,
): GcStats {
  return {
    conns: collect(maps.conns, (k, v) => nowNs - v.last_seen_ns > idleLimitNs(k.proto, v.flags, timeouts)),
    replies: collect(maps.replies, (k, v) => nowNs - v.last_seen_ns > idleLimitNs(k.proto, v.flags, timeouts)),
    affinity: collect(maps.affinity, (k, v) => {
      const t = affinityTimeoutS(k.fe);
      return t === undefined || nowNs - v.last_seen_ns > BigInt(t) * NS;
    }),
  };
}

