// The `--json` summary of `up` and `status`: a stable contract that scripts
// (the benchmark, the end-to-end suite) read. Fields are only ever added.
import type { KubeObject } from './client.js';
import { externalAddressing, podNetns, switchNetns } from './network/addressing.js';
import type { Mode } from './network/addressing.js';
import type { Phase, SwitchKind, TestbedState, TrackedProcess } from './state.js';
import type { SwitchReaderTls } from './talaria-mode.js';

export interface TestbedSummary {
  mode: Mode;
  phase: Phase;
  apiServer: string | null;
  kubeconfig: string | null;
  /** target: what runs the pipeline in talaria mode (null in the kube-proxy modes, where the switch is a bridge). */
  /** reader: the mutual-TLS files of a read-only client (the tools take them as --switch-*-file flags, talaria-mode.ts readerFlags). */
  switch: { netns: string; p4runtime: string | null; reader: SwitchReaderTls | null; target: SwitchKind | null };
  external: { netns: string; ip: string };
  nodes: { name: string; netns: string; ip: string; podCIDR: string; ready: boolean; switchPort: number | null; uplinkMac: string | null }[];
  pods: { name: string; namespace: string; node: string | null; netns: string; ip: string | null; ready: boolean; phase: string; labels: Record<string, string> }[];
  services: {
    name: string;
    namespace: string;
    type: string;
    clusterIP: string;
    ports: { name: string; port: number; protocol: string; targetPort: number | string; nodePort: number | null }[];
    /** LoadBalancer with externalTrafficPolicy Local: the port every node answers health checks on. */
    healthCheckNodePort: number | null;
  }[];
  /** metrics: where a Prometheus in the root namespace scrapes it (Talaria's processes), else null. */
  processes: { name: string; pid: number; log: string | null; metrics: string | null }[];
  upSeconds: number | null;
}

function condition(o: KubeObject, type: string): boolean {
  return ((o.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === type && c.status === 'True');
}

function byName(a: KubeObject, b: KubeObject): number {
  return (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '', 'en', { numeric: true });
}

export function buildSummary(state: TestbedState, objs: { nodes: KubeObject[]; pods: KubeObject[]; services: KubeObject[] }): TestbedSummary {
  const ext = externalAddressing();
  const procs: TrackedProcess[] = [...(state.daemon ? [state.daemon] : []), ...state.processes];
  return {
    mode: state.mode,
    phase: state.phase,
    apiServer: state.apiServer ?? null,
    kubeconfig: state.kubeconfig ?? null,
    switch: { netns: switchNetns(), p4runtime: state.mode === 'talaria' ? (state.p4runtime ?? null) : null, reader: state.mode === 'talaria' ? (state.p4runtimeReader ?? null) : null, target: state.mode === 'talaria' ? (state.switch ?? 'ebpf') : null },
    external: { netns: ext.netns, ip: ext.ip },
    nodes: [...objs.nodes].sort(byName).map((n) => ({
      name: n.metadata.name ?? '',
      netns: n.metadata.annotations?.['talaria.io/netns'] ?? '',
      ip: ((n.status?.addresses ?? []) as { type: string; address: string }[]).find((a) => a.type === 'InternalIP')?.address ?? '',
      podCIDR: n.spec?.podCIDR ?? '',
      ready: condition(n, 'Ready'),
      switchPort: n.metadata.annotations?.['talaria.io/switch-port'] ? Number(n.metadata.annotations['talaria.io/switch-port']) : null,
      uplinkMac: n.metadata.annotations?.['talaria.io/uplink-mac'] ?? null,
    })),
    pods: [...objs.pods].sort(byName).map((p) => ({
      name: p.metadata.name ?? '',
      namespace: p.metadata.namespace ?? 'default',
      node: p.spec?.nodeName ?? null,
      netns: podNetns(p.metadata.namespace ?? 'default', p.metadata.name ?? ''),
      ip: p.status?.podIP ?? null,
      ready: condition(p, 'Ready') && !p.metadata.deletionTimestamp,
      phase: p.metadata.deletionTimestamp ? 'Terminating' : (p.status?.phase ?? 'Pending'),
      labels: p.metadata.labels ?? {},
    })),
    services: [...objs.services].sort(byName).map((s) => ({
      name: s.metadata.name ?? '',
      namespace: s.metadata.namespace ?? 'default',
      type: s.spec?.type ?? 'ClusterIP',
      clusterIP: s.spec?.clusterIP ?? '',
      ports: ((s.spec?.ports ?? []) as { name?: string; port: number; protocol?: string; targetPort?: number | string; nodePort?: number }[]).map((p) => ({
        name: p.name ?? '',
        port: p.port,
        protocol: p.protocol ?? 'TCP',
        targetPort: p.targetPort ?? p.port,
        nodePort: p.nodePort ?? null,
      })),
      healthCheckNodePort: (s.spec?.healthCheckNodePort as number | undefined) ?? null,
    })),
    processes: procs.map((p) => ({ name: p.name, pid: p.pid, log: p.log ?? null, metrics: p.metrics ?? null })),
    upSeconds: state.upSeconds ?? null,
  };
}

/** The human form of the summary: a few lines, the things one types next. */
export function formatSummary(s: TestbedSummary): string {
  const lines = [
    `testbed: mode ${s.mode}, ${s.phase}${s.upSeconds !== null ? ` (up in ${s.upSeconds.toFixed(1)} s)` : ''}`,
    `API server ${s.apiServer ?? '-'}  kubeconfig ${s.kubeconfig ?? '-'}`,
    `switch netns ${s.switch.netns}${s.switch.target ? ` (${s.switch.target === 'bmv2' ? 'talaria.p4 on BMv2' : 'eBPF software switch'})` : ''}${s.switch.p4runtime ? `, P4Runtime ${s.switch.p4runtime}` : ''}; external netns ${s.external.netns} (${s.external.ip})`,
    'NODE        NETNS            IP             POD CIDR        READY',
    ...s.nodes.map((n) => `${n.name.padEnd(11)} ${n.netns.padEnd(16)} ${n.ip.padEnd(14)} ${n.podCIDR.padEnd(15)} ${n.ready}`),
    `pods: ${s.pods.filter((p) => p.ready).length}/${s.pods.length} ready`,
    ...s.pods.slice(0, 20).map((p) => `  ${p.namespace}/${p.name} on ${p.node ?? '-'} ${p.ip ?? '-'} ${p.phase}${p.ready ? ' ready' : ''}`),
    ...(s.pods.length > 20 ? [`  ... ${s.pods.length - 20} more`] : []),
    `services: ${s.services.length}`,
    ...s.services.slice(0, 10).map((v) => `  ${v.namespace}/${v.name} ${v.type} ${v.clusterIP} ${v.ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}`).join(',')}`),
    ...(s.services.length > 10 ? [`  ... ${s.services.length - 10} more`] : []),
  ];
  return lines.join('\n') + '\n';
}
