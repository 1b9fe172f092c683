// `talaria service list`: every service port with its frontends and
// backends, as `cilium service list` shows them, joined with what the switch
// holds: whether each frontend is programmed, its packet counter, and the
// packets pinned to each backend. The Services come from the same kube-proxy
// model the controller computes from (proxy/), so a frontend the switch lacks
// is one the controller has not (yet) written.
import { Command } from 'commander';
import { readDesiredInput, userKubeconfig } from './cluster.js';
import type { DesiredInput } from '../controller/desired/desired-state.js';
import { frontendCandidates } from '../proxy/frontends.js';
import type { TablesJson } from '../p4/switch-tables.js';
import { addClientTransportOptions, clientTransport, type ClientTransportFlags } from '../p4/transport-flags.js';
import type { P4RuntimeTransport } from '../p4/transport.js';

export interface BackendRow {
  addr: string;
  port: number;
  state: 'ready' | 'serving' | 'terminating' | 'not ready';
  node?: string;
  /** Packets of connections pinned to it that the switch counted (its backends entry). */
  pinnedPackets?: number;
}

export interface FrontendRow {
  addr: string;
  port: number;
  kind: string;
  /** undefined: the switch was not read. */
  onSwitch?: { frontendId: number; packets: number } | null;
}

export interface ServicePortRow {
  servicePort: string;
  frontends: FrontendRow[];
  backends: BackendRow[];
}

const PROTOCOL_NUMBER: Record<string, number> = { TCP: 6, UDP: 17 };

function param(action: TablesJson['tables'][string][number]['action'], name: string): string | undefined {
  return action && 'params' in action ? action.params[name] : undefined;
}

/** The rows, in service port order; `tables` (the switch's) adds what it holds. */
export function serviceRows(input: DesiredInput, tables?: TablesJson): ServicePortRow[] {
  const frontends = new Map<string, { frontendId: number; packets: number }>();
  const pinned = new Map<string, number>();
  if (tables) {
    for (const e of tables.tables.frontends ?? []) {
      frontends.set(`${e.match.dst_addr}|${e.match.dst_port}|${e.match.protocol}`, { frontendId: Number(param(e.action, 'frontend_id') ?? -1), packets: e.counters?.packets ?? 0 });
    }
    for (const e of tables.tables.backends ?? []) {
      const key = `${e.match.frontend_id}|${param(e.action, 'addr')}|${param(e.action, 'port')}`;
      pinned.set(key, (pinned.get(key) ?? 0) + (e.counters?.packets ?? 0));
    }
  }
  const rows: ServicePortRow[] = [];
  for (const [service, result] of [...input.services].sort(([a], [b]) => a.localeCompare(b))) {
    for (const sp of result.ports) {
      const fronts: FrontendRow[] = frontendCandidates(sp, input.nodes).map((f) => {
        const onSwitch = tables ? (frontends.get(`${f.addr}|${f.port}|${PROTOCOL_NUMBER[sp.protocol]}`) ?? null) : undefined;
        return { addr: f.addr, port: f.port, kind: f.kind, ...(onSwitch !== undefined ? { onSwitch } : {}) };
      });
      const ids = fronts.flatMap((f) => (f.onSwitch ? [f.onSwitch.frontendId] : []));
      const eps = input.endpoints.get(service)?.endpoints.get(sp.key) ?? [];
      const backends: BackendRow[] = eps.map((e) => ({
        addr: e.addr,
        port: e.port,
        state: e.ready ? 'ready' : e.serving ? (e.terminating ? 'terminating' : 'serving') : 'not ready',
        ...(e.nodeName ? { node: e.nodeName } : {}),
        ...(tables ? { pinnedPackets: ids.reduce((sum, id) => sum + (pinned.get(`${id}|${e.addr}|${e.port}`) ?? 0), 0) } : {}),
      }));
      rows.push({ servicePort: sp.key, frontends: fronts, backends });
    }
  }
  return rows;
}

export function renderServiceRows(rows: readonly ServicePortRow[], switchNote?: string): string {
  const out: string[] = [];
  for (const r of rows) {
    out.push(r.servicePort);
    for (const f of r.frontends) {
      const sw = f.onSwitch === undefined ? '' : f.onSwitch === null ? '   NOT on the switch' : `   on the switch (frontend ${f.onSwitch.frontendId}), ${f.onSwitch.packets} packets`;
      out.push(`  ${f.kind.padEnd(12)} ${`${f.addr}:${f.port}`.padEnd(22)}${sw}`);
    }
    if (r.backends.length === 0) out.push('  (no endpoints: connections are rejected)');
    for (const b of r.backends) {
      out.push(`  -> ${`${b.addr}:${b.port}`.padEnd(22)} ${b.state.padEnd(11)}${b.node ? ` on ${b.node}` : ''}${b.pinnedPackets === undefined ? '' : `, ${b.pinnedPackets} pinned packets`}`);
    }
  }
  if (switchNote) out.push(`(${switchNote})`);
  return out.join('\n');
}

async function readSwitch(address: string, deviceId: string, transport: P4RuntimeTransport): Promise<TablesJson | string> {
  const { openReadOnly } = await import('../p4/client/read-only.js');
  const { P4InfoIndex } = await import('../p4/p4info/p4info.js');
  const { readTables } = await import('../p4/switch-tables.js');
  let client;
  try {
    client = await openReadOnly({ address, deviceId: BigInt(deviceId), transport, deadlineMs: 10_000 });
  } catch (e) {
    return `the switch at ${address} could not be read: ${(e as Error).message.split('\n')[0]}`;
  }
  try {
    const pipeline = await client.getPipeline('P4INFO_AND_COOKIE');
    if (!pipeline.p4info) return `the switch at ${address} has no pipeline`;
    return await readTables(client, new P4InfoIndex(pipeline.p4info));
  } catch (e) {
    return `the switch at ${address} could not be read: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    await client.close();
  }
}

export const serviceCommand = new Command('service').description('inspect the Services Talaria serves').addCommand(
  addClientTransportOptions(new Command('list'))
    .description('every service port: frontends and backends with their state, and what the switch holds of them (like cilium service list)')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--switch <host:port>', "the switch's P4Runtime address, to show what it holds (default: not read)")
    .option('--device-id <n>', 'P4Runtime device id', '1')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (f: ClientTransportFlags & { kubeconfig?: string; switch?: string; deviceId: string; output: string }) => {
      const transport = f.switch ? clientTransport(f) : undefined;
      const input = await readDesiredInput(userKubeconfig(f.kubeconfig));
      const tables = f.switch ? await readSwitch(f.switch, f.deviceId, transport!) : undefined;
      const rows = serviceRows(input, typeof tables === 'object' ? tables : undefined);
      process.stdout.write(f.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : `${renderServiceRows(rows, typeof tables === 'string' ? tables : undefined)}\n`);
    }),
);
