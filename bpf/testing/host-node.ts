// The node the host programs' packet tests and fuzzer run on: its uplink, two
// local pods, a remote pod and one frontend of each kind, written into a
// HostDatapath's maps (loaded without pins, nothing to clean up).
import type { HostDatapath } from '../../nodeagent/datapath.js';
import { HOST_FE_F_AFFINITY, HOST_FE_F_HAS_ENDPOINTS, HOST_FE_F_LOCAL_ONLY } from '../layouts/host-maps.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './packet-builder.js';

export const UPLINK_IFINDEX = 100;
export const UPLINK_MAC = '02:00:00:00:01:01';
export const SWITCH_MAC = '02:00:00:00:01:fe';
export const GW_MAC = '02:00:00:00:00:aa';
export const CLIENT = { ip: '10.244.1.2', ifindex: 11, mac: '02:00:00:00:00:02' };
export const BACKEND = { ip: '10.244.1.3', ifindex: 12, mac: '02:00:00:00:00:03' };
export const LOCAL_PODS = [CLIENT, BACKEND] as const;
export const REMOTE_POD = '10.244.2.7';
export const FE = {
  tcp: { addr: '10.96.0.10', port: 80, proto: IPPROTO_TCP },
  udp: { addr: '10.96.0.11', port: 53, proto: IPPROTO_UDP },
  tcpEmpty: { addr: '10.96.0.20', port: 80, proto: IPPROTO_TCP },
  udpEmpty: { addr: '10.96.0.21', port: 53, proto: IPPROTO_UDP },
  affinity: { addr: '10.96.0.30', port: 80, proto: IPPROTO_TCP },
  local: { addr: '10.96.0.40', port: 8080, proto: IPPROTO_TCP },
  localNone: { addr: '10.96.0.41', port: 80, proto: IPPROTO_TCP },
};
export const LOCAL_EP = { addr: BACKEND.ip, port: 9090 };

/** Writes the node's configuration, pods and frontends. */
export function configureHostNode(dp: HostDatapath): void {
  dp.config.update(0, {
    uplink_ifindex: UPLINK_IFINDEX, flags: 0, uplink_mac: UPLINK_MAC, gateway_mac: SWITCH_MAC,
    cluster_cidr: '10.244.0.0', cluster_mask: '255.255.0.0', hairpin_addr: '0.0.0.0',
  });
  for (const p of LOCAL_PODS) dp.pods.update(p.ip, { ifindex: p.ifindex, mac: p.mac, gw_mac: GW_MAC });
  const fe = (flags: number, extra: { affinity_timeout_s?: number; local_count?: number } = {}) => ({ flags, affinity_timeout_s: 0, local_count: 0, ...extra });
  dp.frontends.update(FE.tcp, fe(HOST_FE_F_HAS_ENDPOINTS));
  dp.frontends.update(FE.udp, fe(HOST_FE_F_HAS_ENDPOINTS));
  dp.frontends.update(FE.tcpEmpty, fe(0));
  dp.frontends.update(FE.udpEmpty, fe(0));
  dp.frontends.update(FE.affinity, fe(HOST_FE_F_HAS_ENDPOINTS | HOST_FE_F_AFFINITY, { affinity_timeout_s: 100 }));
  dp.frontends.update(FE.local, fe(HOST_FE_F_HAS_ENDPOINTS | HOST_FE_F_LOCAL_ONLY, { local_count: 1 }));
  dp.localBackends.update({ fe: FE.local, index: 0 }, LOCAL_EP);
  dp.frontends.update(FE.localNone, fe(HOST_FE_F_HAS_ENDPOINTS | HOST_FE_F_LOCAL_ONLY));
}
