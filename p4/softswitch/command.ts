// `talaria softswitch`: the software switch. Loads bpf/switch.bpf.c with its
// maps pinned under --pin-dir (reusing them after a restart, so forwarding
// never stops), attaches it to the TC ingress of every port inside --netns,
// and serves P4Runtime for it, over mutual TLS unless told --insecure-plaintext,
// on the address it is given. SIGTERM/SIGINT detach the program and stop the
// server; the pins stay for the next start unless --cleanup.
import { execFileSync } from 'node:child_process';
import { Command, Option } from 'commander';
import { UserError } from '../../cli/errors.js';
import { BpfError, DEFAULT_PIN_DIR, enableBpfStats, netnsPath, type StatsHandle } from '../../bpf/loader/index.js';
import { HealthTracker } from '../../observability/health.js';
import { startProxyServers, type ProxyServers } from '../../observability/proxy-server.js';
import { startTelemetry, type Telemetry } from '../../observability/telemetry.js';
import { talariaP4Info } from '../p4info/load-p4info.js';
import { P4RuntimeServer } from '../server/server.js';
import { addServerTransportOptions, serverTransport, type ServerTransportFlags } from '../transport-flags.js';
import { PortError, SwitchDatapath, type SwitchPort } from './datapath.js';
import { EbpfTarget } from './ebpf-target.js';
import { registerSwitchMetrics } from './metrics.js';
import { logFormatOption, makeLog, type LogFormat } from '../../cli/log.js';

export interface SoftswitchOptions extends ServerTransportFlags {
  ports: string;
  grpcAddr: string;
  deviceId: string;
  netns?: string;
  pinDir: string;
  cleanup: boolean;
  metricsBindAddress: string;
  bpfStats: boolean;
  /** Default text. */
  logFormat?: LogFormat;
}

/** --ports IF1,IF2: port i (1-based) is the i-th interface. */
export function parsePorts(list: string): SwitchPort[] {
  const names = list.split(',').map((s) => s.trim());
  if (names.length === 0 || names.some((n) => n === '' || n.length > 15)) throw new UserError(`--ports: '${list}' is not a comma-separated list of interface names`);
  if (new Set(names).size !== names.length) throw new UserError(`--ports: '${list}' names an interface twice`);
  return names.map((ifname, i) => ({ port: i + 1, ifname }));
}

/** The IPv4 addresses of the namespace: packets for them belong to its kernel. */
export function namespaceAddresses(netns: string | undefined): string[] {
  const ip = ['ip', '-j', '-4', 'addr', 'show'];
  const argv = netns ? ['nsenter', `--net=${netnsPath(netns)}`, ...ip] : ip;
  const parsed = JSON.parse(execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' })) as { addr_info?: { local?: string }[] }[];
  return parsed.flatMap((l) => (l.addr_info ?? []).map((a) => a.local).filter((a): a is string => !!a && !a.startsWith('127.')));
}

export async function runSoftswitch(opts: SoftswitchOptions, log: (m: string) => void = makeLog('softswitch', opts.logFormat)): Promise<{ stop(): Promise<void>; port: number }> {
  const ports = parsePorts(opts.ports);
  const transport = serverTransport(opts);
  if (!/^\d+$/.test(opts.deviceId) || BigInt(opts.deviceId) === 0n) throw new UserError(`--device-id: '${opts.deviceId}' is not a positive integer`);
  let datapath: SwitchDatapath;
  try {
    datapath = SwitchDatapath.load({ pinDir: opts.pinDir });
    for (const m of datapath.object.migrations) log(`map ${m.map}: an older layout was pinned (${m.from}): ${m.copied} entries moved to ${m.to}, ${m.dropped} dropped`);
  } catch (e) {
    if (e instanceof BpfError || (e instanceof Error && /missing/.test(e.message))) throw new UserError(`loading the switch program: ${e.message}`);
    throw e;
  }
  let server: P4RuntimeServer | undefined;
  let telemetry: Telemetry | undefined;
  let metrics: ProxyServers | undefined;
  let stats: StatsHandle | undefined;
  try {
    datapath.attach(ports, opts.netns);
    const local = namespaceAddresses(opts.netns);
    datapath.setLocalAddresses(local);
    log(`attached to ${ports.map((p) => `${p.port}=${p.ifname}`).join(' ')}${opts.netns ? ` in netns ${opts.netns}` : ''}; own addresses ${local.join(', ') || 'none'}; maps pinned at ${opts.pinDir}`);
    // Telemetry always: the controller's trace context arrives in gRPC metadata.
    telemetry = startTelemetry({ serviceName: 'talaria-softswitch' });
    registerSwitchMetrics(telemetry.registry, datapath, talariaP4Info());
    if (opts.bpfStats) stats = enableBpfStats();
    if (opts.metricsBindAddress) {
      metrics = await startProxyServers({ registry: telemetry.registry, health: new HealthTracker(), healthzAddress: '', metricsAddress: opts.metricsBindAddress });
      log(`metrics on ${opts.metricsBindAddress.replace(/:\d*$/, '')}:${metrics.metricsPort}`);
    }
    server = new P4RuntimeServer({ deviceId: BigInt(opts.deviceId), target: new EbpfTarget({ datapath }), log, transport, access: { writers: opts.writerIdentity } });
    const port = await server.start(opts.grpcAddr).catch((e: Error) => {
      throw new UserError(`P4Runtime on ${opts.grpcAddr}: ${e.message}`);
    });
    let stopped = false;
    return {
      port,
      async stop() {
        if (stopped) return;
        stopped = true;
        await server!.stop();
        await metrics?.close();
        stats?.close();
        await telemetry?.shutdown();
        datapath.close({ removePins: opts.cleanup });
        log(opts.cleanup ? 'stopped; pinned maps removed' : `stopped; forwarding state kept in ${opts.pinDir}`);
      },
    };
  } catch (e) {
    await server?.stop().catch(() => undefined);
    await metrics?.close().catch(() => undefined);
    stats?.close();
    await telemetry?.shutdown();
    datapath.close({ removePins: opts.cleanup });
    if (e instanceof BpfError || e instanceof PortError) throw new UserError(e.message);
    throw e;
  }
}

export const softswitchCommand = addServerTransportOptions(new Command('softswitch'))
  .description('the eBPF software switch: talaria.p4 as a TC program on every port, with a P4Runtime server')
  .requiredOption('--ports <if,...>', 'switch ports in P4 port order (port 1 is the first)')
  .addOption(new Option('--grpc-addr <host:port>', 'P4Runtime listen address (only this address: give the one the controllers dial)').default('127.0.0.1:9559'))
  .addOption(new Option('--device-id <n>', 'P4Runtime device id').default('1'))
  .option('--netns <name>', 'network namespace that holds the ports')
  .addOption(new Option('--pin-dir <dir>', 'where the maps are pinned (kept across restarts)').default(DEFAULT_PIN_DIR))
  .option('--cleanup', 'remove the pinned maps on exit (forwarding state is lost)', false)
  .addOption(new Option('--metrics-bind-address <host:port>', 'serve Prometheus /metrics here ("" = off)').default(''))
  .addOption(logFormatOption())
  .option('--no-bpf-stats', 'do not turn on kernel BPF run-time stats (talaria_bpf_program_run_seconds_total)')
  .action(async (opts: SoftswitchOptions) => {
    const sw = await runSoftswitch(opts);
    await new Promise<void>((resolve) => {
      const done = (): void => resolve();
      process.once('SIGTERM', done);
      process.once('SIGINT', done);
    });
    await sw.stop();
  });
