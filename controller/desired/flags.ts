// The `flags` parameter of `set_frontend(frontend_id, flags)` in the switch's
// `frontends` table. The switch copies it into the shim's 8-bit flags field on
// the way to the backend host and back to the client host, so the host
// programs see the same bits. Values are part of the contract with
// p4/talaria.p4, bpf/switch*.bpf.c and bpf/host*.bpf.c: never renumber.

/**
 * No usable endpoint: the switch answers a NEW packet (or a packet without
 * shim) with a reject (TCP RST / ICMP port unreachable, as kube-proxy does),
 * never a silent drop. PINNED packets still look up `backends`, so
 * connections pinned to a terminating backend finish.
 */
export const FLAG_REJECT = 0x01;
/** sessionAffinity: ClientIP. The client host keeps the affinity entry and sends PINNED. */
export const FLAG_AFFINITY_CLIENT_IP = 0x02;
/** internalTrafficPolicy: Local (on ClusterIP frontends): the client host pins to a local endpoint. */
export const FLAG_INTERNAL_LOCAL = 0x04;
/** externalTrafficPolicy: Local (on NodePort frontends): the selector group holds only that node's endpoints. */
export const FLAG_EXTERNAL_LOCAL = 0x08;
/** The frontend is reachable from outside the cluster (NodePort, ExternalIP, LoadBalancer ingress). */
export const FLAG_EXTERNAL = 0x10;

export function describeFlags(flags: number): string[] {
  const names: [number, string][] = [
    [FLAG_REJECT, 'reject'],
    [FLAG_AFFINITY_CLIENT_IP, 'affinity'],
    [FLAG_INTERNAL_LOCAL, 'internal-local'],
    [FLAG_EXTERNAL_LOCAL, 'external-local'],
    [FLAG_EXTERNAL, 'external'],
  ];
  return names.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n);
}
