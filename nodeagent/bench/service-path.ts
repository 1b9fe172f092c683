// Benchmark of service traffic through the software switch, run by hand (root):
//   node --import tsx nodeagent/bench/service-path.ts [--seconds 10] [--rounds 2] [--connections 10]
// Two nodes with the host programs (maps filled by hand), `talaria softswitch`
// between them, nginx on node-2, wrk on node-1: the pod IP directly (fast
// path, the ceiling) against the ClusterIP (NEW/PINNED -> TO_BACKEND -> REPLY
// -> TO_CLIENT), keep-alive and a new connection per request, with the BPF
// run time per packet of each host program under that load.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { talariaArgv } from '../../cli/self.js';
import { enableBpfStats, programStats } from '../../bpf/loader/stats.js';
import { removePinDir } from '../../bpf/loader/pin.js';
import { HOST_FE_F_HAS_ENDPOINTS } from '../../bpf/layouts/host-maps.js';
import { runWrk } from '../../bench/wrk.js';
import { P4RuntimeClient } from '../../p4/client/index.js';
import { talariaP4Info } from '../../p4/p4info/load-p4info.js';
import { TalariaEntities } from '../../p4/softswitch/wire-entities.js';
import type { Entity } from '../../p4/proto/types.js';
import { HostDatapath } from '../datapath.js';
import { MiniCluster } from '../testing/mini-cluster.js';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' }, connections: { type: 'string', default: '10' } } });
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const VIP = '10.96.7.7';

async function main(): Promise<void> {
  const prefix = `tl-nasb-${process.pid}`;
  const pinRoot = `/sys/fs/bpf/talaria/${prefix}`;
  const nginxDir = `/tmp/${prefix}-nginx`;
  const cluster = new MiniCluster(prefix);
  const dps: HostDatapath[] = [];
  const stats = enableBpfStats();
  let sw: ChildProcess | undefined;
  let p4: P4RuntimeClient | undefined;
  try {
    await cluster.up(2, { forward: false });
    const a = await cluster.addPod('a', 1, 2);
    const c = await cluster.addPod('c', 2, 2);
    for (const n of cluster.nodes) {
      const dp = HostDatapath.open({ pinDir: `${pinRoot}/${n.name}`, netns: n.netns });
      dps.push(dp);
      dp.config.update(0, { uplink_ifindex: 2, flags: 1, uplink_mac: n.uplinkMac, gateway_mac: n.switchMac, cluster_cidr: '10.244.0.0', cluster_mask: '255.255.0.0', hairpin_addr: '0.0.0.0' });
      dp.frontends.update({ addr: VIP, port: 80, proto: 6 }, { flags: HOST_FE_F_HAS_ENDPOINTS, affinity_timeout_s: 0, local_count: 0 });
      const cni = JSON.parse(await cluster.run(n.netns, ['ip', '-j', 'link', 'show', 'cni0'])) as Array<{ address: string }>;
      for (const p of cluster.pods.filter((x) => x.node === n.index)) {
        const l = JSON.parse(await cluster.run(n.netns, ['ip', '-j', 'link', 'show', p.hostVeth])) as Array<{ ifindex: number }>;
        dp.pods.update(p.ip, { ifindex: l[0]!.ifindex, mac: p.mac, gw_mac: cni[0]!.address });
        dp.attach(p.hostVeth, 'fromPod');
      }
      dp.attach('eth0', 'fromUplink');
    }
    const argv = talariaArgv(['softswitch', '--ports', 'swn1,swn2', '--grpc-addr', '127.0.0.1:0', '--insecure-plaintext', '--device-id', '1', '--netns', cluster.switchNetns, '--pin-dir', `${pinRoot}/switch`]);
    sw = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    const child = sw;
    const port = await new Promise<number>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /P4Runtime server for device 1 on [\d.]+:(\d+)/.exec(err);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`softswitch exited with ${code}: ${err}`)));
    });
    p4 = new P4RuntimeClient({ address: `127.0.0.1:${port}`, deviceId: 1, electionId: 10 });
    await p4.connect();
    await p4.arbitrate();
    await p4.setPipeline(talariaP4Info(), { cookie: 1 });
    const e = new TalariaEntities();
    const w = async (entities: Entity[]): Promise<void> => {
      await p4!.write(entities.map((entity) => ({ type: 'INSERT' as const, entity })), { atomicity: 'ROLLBACK_ON_ERROR' });
    };
    // The Service targets port 81, direct requests port 80: the two never share
    // a 4-tuple at the server (TIME_WAIT with foreign timestamps would stall SYNs).
    await w([e.member(1, 22, c.ip, 81)]);
    await w([e.group(1, [[1, 1]], 16)]);
    await w([
      ...cluster.nodes.map((n) => e.route(`10.244.${n.index}.0/24`, { kind: 'to_port', port: n.index, dstMac: n.uplinkMac })),
      e.frontend(VIP, 80, 6, 1), e.backendSelect(1, { groupId: 1 }), e.backend(1, 22, c.ip, 81), e.reverseNat(1, VIP, 80),
    ]);

    mkdirSync(nginxDir, { recursive: true });
    writeFileSync(`${nginxDir}/nginx.conf`, `worker_processes 1; daemon off; pid ${nginxDir}/nginx.pid; error_log stderr warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path ${nginxDir}; proxy_temp_path ${nginxDir}; fastcgi_temp_path ${nginxDir}; uwsgi_temp_path ${nginxDir}; scgi_temp_path ${nginxDir};
  server { listen 80; listen 81; location / { return 200 "ok\\n"; } } }
`);
    cluster.start(c.netns, ['nginx', '-p', nginxDir, '-c', `${nginxDir}/nginx.conf`]);
    await new Promise((r) => setTimeout(r, 1000));

    const rows: string[] = [];
    const prog = (dp: HostDatapath) => Object.values(dp.programs).map((p) => ({ ...programStats(p), name: p.name }));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const close of [false, true]) {
        for (const [label, url] of [['pod IP (fast path)', `http://${c.ip}/`], ['ClusterIP (switch)', `http://${VIP}/`]] as const) {
          await runWrk({ netns: a.netns, url, connections: CONNECTIONS, durationSeconds: 2, closeEachRequest: close });
          const before = dps.map(prog);
          const r = await runWrk({ netns: a.netns, url, connections: CONNECTIONS, durationSeconds: SECONDS, closeEachRequest: close });
          const after = dps.map(prog);
          const perPacket = after
            .flatMap((ps, i) => ps.map((p, j) => {
              const b = before[i]![j]!;
              const runs = p.runCount - b.runCount;
              return runs > 0 ? `n${i + 1} ${p.name.replace('tl_host_', '')} ${((p.runTimeNs - b.runTimeNs) / runs).toFixed(0)}` : '';
            }))
            .filter(Boolean)
            .join(', ');
          rows.push(`| ${round} | ${close ? 'close' : 'keep-alive'} | ${label} | ${r.rps.toFixed(0)} | ${r.latencyMs.p50.toFixed(3)} | ${r.latencyMs.p99.toFixed(3)} | ${r.errors} | ${perPacket} |`);
        }
      }
    }
    console.log(`\n## HTTP from node-1 to nginx on node-2: pod IP vs ClusterIP through the software switch (wrk -t1 -c${CONNECTIONS}, ${SECONDS}s)\n`);
    console.log('| round | connections | target | requests/s | p50 ms | p99 ms | errors | BPF ns/packet under this load |\n| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows) console.log(r);
  } finally {
    await p4?.close().catch(() => undefined);
    if (sw && sw.exitCode === null) {
      const exited = new Promise((r) => sw!.once('exit', r));
      sw.kill('SIGTERM');
      await exited;
    }
    stats.close();
    for (const dp of dps) dp.close();
    await cluster.destroy();
    removePinDir(pinRoot);
    rmSync(nginxDir, { recursive: true, force: true });
  }
}

await main();
