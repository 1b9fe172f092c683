// `talaria status`: the state of an installation at a glance, as `cilium
// status` gives it: the controllers (replicas ready, who leads, how fresh
// the Lease is), the switch (reachable over P4Runtime, running talaria.p4),
// the node agents (ready, and why a node is not), and the versions running.
// Read-only: Kubernetes objects of the release, and the switch's pipeline.
import { Command } from 'commander';
import { AppsV1Api, CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { userKubeconfig } from './cluster.js';
import { UserError } from './errors.js';
import { buildInfo } from './version.js';
import { agentReadyCondition } from '../proxy/node-annotations.js';
import { addClientTransportOptions, clientTransport, type ClientTransportFlags } from '../p4/transport-flags.js';

export interface StatusReport {
  controller: { replicas: number; ready: number; leader?: string; leaseAgeSeconds?: number };
  agents: { desired: number; ready: number; notReady: { node: string; status: string; reason: string; message: string }[] };
  switch: { address: string; deviceId: string; state: 'talaria.p4' | 'other pipeline' | 'no pipeline' | 'unreachable'; detail?: string };
  images: string[];
  cli: string;
}

/** What the switch runs, read with GetForwardingPipelineConfig (no arbitration: any client may). */
export type SwitchProbe = (address: string, deviceId: string) => Promise<{ state: StatusReport['switch']['state']; detail?: string }>;

const notFound = (e: unknown): boolean => (e as { code?: number }).code === 404;

export async function gatherStatus(kc: KubeConfig, o: { namespace: string; release: string; switchAddress?: string; probe: SwitchProbe; now?: Date }): Promise<StatusReport> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const controllerName = `${o.release}-controller`;
  const agentName = `${o.release}-node-agent`;
  const optional = async <T>(p: Promise<T>): Promise<T | undefined> => p.catch((e: unknown) => (notFound(e) ? undefined : Promise.reject(e)));

  const deployment = await optional(apps.readNamespacedDeployment({ namespace: o.namespace, name: controllerName }));
  const daemonSet = await optional(apps.readNamespacedDaemonSet({ namespace: o.namespace, name: agentName }));
  if (!deployment && !daemonSet) throw new UserError(`no Talaria release "${o.release}" in namespace ${o.namespace} (neither Deployment ${controllerName} nor DaemonSet ${agentName})`);
  const lease = await optional(coordination.readNamespacedLease({ namespace: o.namespace, name: controllerName }));
  const renewed = lease?.spec?.renewTime ? new Date(lease.spec.renewTime as unknown as string).getTime() : undefined;

  const nodes = (await core.listNode()).items;
  const notReady = nodes.flatMap((n) => {
    const c = n.status?.conditions?.find((x) => x.type === agentReadyCondition);
    return c?.status === 'True' ? [] : [{ node: n.metadata?.name ?? '?', status: c?.status ?? 'Unknown', reason: c?.reason ?? 'NoAgent', message: c?.message ?? 'no node agent has reported on this node' }];
  });

  const config = await optional(core.readNamespacedConfigMap({ namespace: o.namespace, name: o.release }));
  const address = o.switchAddress ?? config?.data?.TALARIA_SWITCH_ADDRESS ?? '';
  const deviceId = config?.data?.TALARIA_SWITCH_DEVICE_ID ?? '1';
  const sw = address ? await o.probe(address, deviceId) : { state: 'unreachable' as const, detail: `no switch address (ConfigMap ${o.release} has none; use --switch)` };

  const pods = (await core.listNamespacedPod({ namespace: o.namespace, labelSelector: `app.kubernetes.io/instance=${o.release},app.kubernetes.io/name=talaria` })).items;
  const images = [...new Set(pods.flatMap((p) => (p.spec?.containers ?? []).map((c) => c.image ?? '?')))].sort();
  const b = buildInfo();
  return {
    controller: {
      replicas: deployment?.spec?.replicas ?? 0,
      ready: deployment?.status?.readyReplicas ?? 0,
      leader: lease?.spec?.holderIdentity,
      leaseAgeSeconds: renewed === undefined ? undefined : Math.max(0, ((o.now ?? new Date()).getTime() - renewed) / 1000),
    },
    agents: { desired: daemonSet?.status?.desiredNumberScheduled ?? 0, ready: daemonSet?.status?.numberReady ?? 0, notReady },
    switch: { address, deviceId, ...sw },
    images,
    cli: `${b.version} (commit ${b.gitCommit})`,
  };
}

/** Whether everything is as it should be (the exit code of `talaria status`). */
export function healthy(r: StatusReport): boolean {
  return r.controller.ready >= 1 && r.controller.leader !== undefined && r.switch.state === 'talaria.p4' && r.agents.ready === r.agents.desired && r.agents.notReady.length === 0;
}

export function renderStatus(r: StatusReport): string {
  const mark = (ok: boolean): string => (ok ? 'OK  ' : 'FAIL');
  const c = r.controller;
  const lines = [
    `${mark(c.ready >= 1 && !!c.leader)} Controller:   ${c.ready}/${c.replicas} ready, leader ${c.leader ?? '(none)'}${c.leaseAgeSeconds === undefined ? '' : `, Lease renewed ${c.leaseAgeSeconds.toFixed(0)} s ago`}`,
    `${mark(r.switch.state === 'talaria.p4')} Switch:       ${r.switch.address || '(unknown)'} device ${r.switch.deviceId}: ${r.switch.state}${r.switch.detail ? ` (${r.switch.detail})` : ''}`,
    `${mark(r.agents.ready === r.agents.desired && r.agents.notReady.length === 0)} Node agents:  ${r.agents.ready}/${r.agents.desired} ready`,
    ...r.agents.notReady.map((n) => `       ${n.node}: ${agentReadyCondition}=${n.status} ${n.reason}: ${n.message}`),
    `     Images:       ${r.images.join(', ') || '(no pods)'}`,
    `     This CLI:     talaria ${r.cli}`,
  ];
  return lines.join('\n');
}

/** The real probe: P4Runtime GetForwardingPipelineConfig in a read-only session, compared with talaria.p4's P4Info. */
export const probeSwitch = (transportFlags: ClientTransportFlags): SwitchProbe => async (address, deviceId) => {
  let transport;
  try {
    transport = clientTransport(transportFlags);
  } catch (e) {
    return { state: 'unreachable', detail: (e as Error).message };
  }
  const { openReadOnly } = await import('../p4/client/read-only.js');
  const { P4RuntimeError } = await import('../p4/client/errors.js');
  const { P4InfoIndex } = await import('../p4/p4info/p4info.js');
  const { talariaP4Info } = await import('../p4/p4info/load-p4info.js');
  const { pipelineCookie } = await import('../controller/switch/connection.js');
  let client;
  try {
    client = await openReadOnly({ address, deviceId: BigInt(deviceId), transport, deadlineMs: 5000 });
  } catch (e) {
    return { state: 'unreachable', detail: (e as Error).message.split('\n')[0] };
  }
  try {
    try {
      const pipeline = await client.getPipeline('P4INFO_AND_COOKIE');
      if (!pipeline.p4info) return { state: 'no pipeline' };
      const same = pipelineCookie(new P4InfoIndex(pipeline.p4info)) === pipelineCookie(talariaP4Info());
      return same ? { state: 'talaria.p4', detail: `cookie ${pipeline.cookie ?? 0n}` } : { state: 'other pipeline', detail: 'its P4Info is not talaria.p4\'s' };
    } catch (e) {
      if (e instanceof P4RuntimeError && e.codeName === 'FAILED_PRECONDITION') return { state: 'no pipeline' };
      return { state: 'unreachable', detail: (e as Error).message.split('\n')[0] };
    }
  } finally {
    await client.close();
  }
};

export const statusCommand = addClientTransportOptions(new Command('status'))
  .description('the state of the installation: controllers and leader, the switch, the node agents, versions (like cilium status)')
  .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
  .option('-n, --namespace <ns>', "the release's namespace", 'kube-system')
  .option('--release <name>', 'the Helm release name', 'talaria')
  .option('--switch <host:port>', "the switch's P4Runtime address as seen from here (default: the release's ConfigMap)")
  .option('-o, --output <format>', 'text or json', 'text')
  .action(async (f: ClientTransportFlags & { kubeconfig?: string; namespace: string; release: string; switch?: string; output: string }) => {
    const kc = userKubeconfig(f.kubeconfig);
    const r = await gatherStatus(kc, { namespace: f.namespace, release: f.release, switchAddress: f.switch, probe: probeSwitch(f) });
    process.stdout.write(f.output === 'json' ? `${JSON.stringify({ ...r, healthy: healthy(r) }, null, 2)}\n` : `${renderStatus(r)}\n`);
    if (!healthy(r)) process.exitCode = 1;
  });
