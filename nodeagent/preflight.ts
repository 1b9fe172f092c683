// What a node must offer before the agent attaches anything. A node that
// fails a check would drop or truncate pod traffic once the programs run
// (an uplink without room for the shim, a kernel without the helpers), so
// the agent attaches nothing, says which check failed and why, and looks
// again until an operator has fixed it (nodeagent/agent.ts).
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { TALARIA_OPT_LEN } from '../bpf/layouts/shim.js';
import { linkInfo } from './interfaces.js';

/** The newest helper the host programs call, bpf_ktime_get_coarse_ns, arrived in Linux 5.11 (bpf_redirect_peer in 5.10). */
export const MIN_KERNEL: readonly [number, number] = [5, 11];
/**
 * The kernel's own type information. The programs use no CO-RE today, but a
 * kernel without it lacks other BPF features of its era; Talaria supports and
 * tests only kernels built with it, as Cilium's kube-proxy replacement does.
 */
export const KERNEL_BTF = '/sys/kernel/btf/vmlinux';

export type PreflightCheck = 'kernel' | 'btf' | 'uplink' | 'pod_gateway' | 'mtu';

export interface PreflightProblem {
  check: PreflightCheck;
  message: string;
}

/** What the checks look at; gathered from the node by nodeFacts(), given by tests. */
export interface NodeFacts {
  kernelRelease: string;
  btf: boolean;
  uplink: { name: string; mtu?: number };
  podGateway: { name: string; mtu?: number };
}

export async function nodeFacts(opts: { netns?: string; uplink: string; podGatewayIf: string }): Promise<NodeFacts> {
  const [up, gw] = await Promise.all([linkInfo(opts.netns, opts.uplink), linkInfo(opts.netns, opts.podGatewayIf)]);
  return {
    kernelRelease: release(),
    btf: existsSync(KERNEL_BTF),
    uplink: { name: opts.uplink, mtu: up?.mtu },
    podGateway: { name: opts.podGatewayIf, mtu: gw?.mtu },
  };
}

/** Every failed check, with what to do about it; empty when the node is fit. */
export function preflightProblems(f: NodeFacts): PreflightProblem[] {
  const out: PreflightProblem[] = [];
  const m = /^(\d+)\.(\d+)/.exec(f.kernelRelease);
  const [wantMajor, wantMinor] = MIN_KERNEL;
  if (!m || Number(m[1]) < wantMajor || (Number(m[1]) === wantMajor && Number(m[2]) < wantMinor)) {
    out.push({ check: 'kernel', message: `kernel ${f.kernelRelease} is older than ${wantMajor}.${wantMinor} (the host programs call bpf_ktime_get_coarse_ns)` });
  }
  if (!f.btf) out.push({ check: 'btf', message: `no kernel BTF at ${KERNEL_BTF}: Talaria supports kernels built with CONFIG_DEBUG_INFO_BTF=y` });
  if (f.uplink.mtu === undefined) out.push({ check: 'uplink', message: `uplink ${f.uplink.name} does not exist (--uplink)` });
  if (f.podGateway.mtu === undefined) {
    out.push({ check: 'pod_gateway', message: `pod gateway interface ${f.podGateway.name} does not exist (--pod-gateway-if; the CNI bridge is created with the first pod)` });
  }
  if (f.uplink.mtu !== undefined && f.podGateway.mtu !== undefined && f.uplink.mtu < f.podGateway.mtu + TALARIA_OPT_LEN) {
    out.push({
      check: 'mtu',
      message: `uplink ${f.uplink.name} MTU ${f.uplink.mtu} is below the pod MTU ${f.podGateway.mtu} (${f.podGateway.name}) + ${TALARIA_OPT_LEN} for the shim: raise the uplink MTU to ${f.podGateway.mtu + TALARIA_OPT_LEN} or lower the pods' MTU`,
    });
  }
  return out;
}
