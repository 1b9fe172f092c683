// Benchmark of the host fast path, run by hand (root):
//   node --import tsx nodeagent/bench/fast-path.ts [--seconds 10] [--rounds 2] [--connections 10]
// 1. Per-packet cost of each host program path under BPF_PROG_TEST_RUN
//    (median of 2000 single runs: mutating paths cannot use `repeat`, which
//    reruns the same skb).
// 2. Pod-to-pod HTTP request rate (wrk against nginx, two nodes) over the
//    eBPF fast path and over bridge + VXLAN (flannel's wiring) on the same
//    namespaces in the same run, alternating; with kernel BPF run-time stats
//    (ns per packet of each program under that traffic).
// Everything it creates is removed at the end, also on failure.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runProgram } from '../../bpf/loader/test-run.js';
import { enableBpfStats, programStats } from '../../bpf/loader/stats.js';
import { removePinDir } from '../../bpf/loader/pin.js';
import { HOST_FE_F_HAS_ENDPOINTS } from '../../bpf/layouts/host-maps.js';
import { TalariaKind } from '../../bpf/layouts/shim.js';
import { buildPacket } from '../../bpf/testing/packet-builder.js';
import type { PacketSpec } from '../../bpf/testing/packet-builder.js';
import { runWrk } from '../../bench/wrk.js';
import { HostDatapath } from '../datapath.js';
import { MiniCluster } from '../testing/mini-cluster.js';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' }, connections: { type: 'string', default: '10' } } });
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function testRunCosts(): void {
  const dp = HostDatapath.open({});
  try {
    dp.config.update(0, { uplink_ifindex: 100, flags: 1, uplink_mac: '02:00:00:00:01:01', gateway_mac: '02:00:00:00:01:fe', cluster_cidr: '10.244.0.0', cluster_mask: '255.255.0.0', hairpin_addr: '0.0.0.0' });
    dp.pods.update('10.244.1.2', { ifindex: 11, mac: '02:00:00:00:00:02', gw_mac: '02:00:00:00:00:aa' });
    dp.pods.update('10.244.1.3', { ifindex: 12, mac: '02:00:00:00:00:03', gw_mac: '02:00:00:00:00:aa' });
    for (let i = 0; i < 1000; i++) dp.frontends.update({ addr: `10.96.${i >> 8}.${i & 255}`, port: 80, proto: 6 }, { flags: HOST_FE_F_HAS_ENDPOINTS, affinity_timeout_s: 0, local_count: 0 });
    dp.conns.update({ saddr: '10.244.1.2', daddr: '10.96.0.10', sport: 40001, dport: 80, proto: 6 }, { last_seen_ns: 1n, frontend_id: 7, backend_id: 9, nat_addr: '0.0.0.0', nat_port: 0, flags: 0 });
    dp.replies.update({ saddr: '10.244.2.7', daddr: '10.244.1.3', sport: 41000, dport: 8080, proto: 6 }, { last_seen_ns: 1n, frontend_id: 21, backend_id: 22, orig_saddr: '0.0.0.0', fe_addr: '0.0.0.0', fe_port: 0, flags: 0 });
    const pod = { src: '02:00:00:00:00:02', dst: '02:00:00:00:00:aa' };
    const sw = { src: '02:00:00:00:01:fe', dst: '02:00:00:00:01:01' };
    const payload = Buffer.alloc(100, 1);
    const cases: Array<[string, 'fromPod' | 'fromUplink', PacketSpec]> = [
      ['pod -> remote pod', 'fromPod', { eth: pod, ipv4: { src: '10.244.1.2', dst: '10.244.2.7' }, tcp: { sport: 40000, dport: 80, flags: ['ACK'], payload } }],
      ['pod -> local pod', 'fromPod', { eth: pod, ipv4: { src: '10.244.1.2', dst: '10.244.1.3' }, tcp: { sport: 40000, dport: 80, flags: ['ACK'], payload } }],
      ['pod -> frontend, NEW', 'fromPod', { eth: pod, ipv4: { src: '10.244.1.2', dst: '10.96.0.10' }, tcp: { sport: 40000, dport: 80, flags: ['SYN'], payload } }],
      ['pod -> frontend, PINNED', 'fromPod', { eth: pod, ipv4: { src: '10.244.1.2', dst: '10.96.0.10' }, tcp: { sport: 40001, dport: 80, flags: ['ACK'], payload } }],
      ['backend pod reply, REPLY', 'fromPod', { eth: pod, ipv4: { src: '10.244.1.3', dst: '10.244.2.7' }, tcp: { sport: 8080, dport: 41000, flags: ['ACK'], payload } }],
      ['pod -> outside (pass)', 'fromPod', { eth: pod, ipv4: { src: '10.244.1.2', dst: '8.8.8.8' }, tcp: { sport: 40000, dport: 80, flags: ['ACK'], payload } }],
      ['uplink TO_BACKEND', 'fromUplink', { eth: sw, ipv4: { src: '10.244.2.7', dst: '10.244.1.3', shim: { kind: TalariaKind.TO_BACKEND, frontendId: 21, backendId: 22 } }, tcp: { sport: 41000, dport: 8080, flags: ['ACK'], payload } }],
      ['uplink TO_CLIENT', 'fromUplink', { eth: sw, ipv4: { src: '10.96.0.10', dst: '10.244.1.2', shim: { kind: TalariaKind.TO_CLIENT, frontendId: 7, backendId: 9 } }, tcp: { sport: 80, dport: 40001, flags: ['ACK'], payload } }],
      ['uplink plain -> local pod', 'fromUplink', { eth: sw, ipv4: { src: '10.244.2.7', dst: '10.244.1.2' }, tcp: { sport: 80, dport: 40000, flags: ['ACK'], payload } }],
    ];
    console.log('\n## Per-packet cost under BPF_PROG_TEST_RUN (median of 2000 single runs, 1000 frontends loaded)\n');
    console.log('| path | program | ns/packet |\n| --- | --- | --- |');
    for (const [name, prog, spec] of cases) {
      const pkt = buildPacket(spec);
      const d: number[] = [];
      for (let i = 0; i < 2000; i++) d.push(runProgram(dp.programs[prog], pkt).durationNs);
      console.log(`| ${name} | ${dp.programs[prog].name} | ${median(d)} |`);
    }
  } finally {
    dp.close();
  }
}

async function traffic(): Promise<void> {
  const prefix = `tl-nab-${process.pid}`;
  const pinDir = `/sys/fs/bpf/talaria/${prefix}`;
  const nginxDir = `/tmp/${prefix}-nginx`;
  const cluster = new MiniCluster(prefix);
  const dps: HostDatapath[] = [];
  const stats = enableBpfStats();
  try {
    await cluster.up(2);
    const a = await cluster.addPod('a', 1, 2);
    const c = await cluster.addPod('c', 2, 2);
    // Underlay MTU for VXLAN (as the testbed's baselines): pods keep 1500.
    await cluster.run(cluster.switchNetns, ['sh', '-c', 'ip link set swn1 mtu 1550 && ip link set swn2 mtu 1550']);
    const vtep = (n: number): string => `02:74:61:02:0${n}:00`;
    for (const n of cluster.nodes) {
      const p = cluster.nodes.find((x) => x.index !== n.index)!;
      await cluster.run(n.netns, ['sh', '-c', [
        'ip link set eth0 mtu 1550',
        `ip link add flannel.1 address ${vtep(n.index)} mtu 1500 type vxlan id 1 local ${n.ip} dev eth0 dstport 8472 nolearning`,
        `ip addr add 10.244.${n.index}.0/32 dev flannel.1`,
        'ip link set flannel.1 up',
        `ip neigh replace 10.244.${p.index}.0 lladdr ${vtep(p.index)} dev flannel.1 nud permanent`,
        `ip route add 10.244.${p.index}.0/24 via 10.244.${p.index}.0 dev flannel.1 onlink`,
        `bridge fdb append ${vtep(p.index)} dev flannel.1 dst ${p.ip}`,
      ].join(' && ')]);
    }
    // The fast path: the host programs with hand-filled maps (no agent needed).
    for (const n of cluster.nodes) {
      const dp = HostDatapath.open({ pinDir: `${pinDir}/${n.name}`, netns: n.netns });
      dps.push(dp);
      dp.config.update(0, { uplink_ifindex: 2, flags: 1, uplink_mac: n.uplinkMac, gateway_mac: n.switchMac, cluster_cidr: '10.244.0.0', cluster_mask: '255.255.0.0', hairpin_addr: '0.0.0.0' });
      const cni = JSON.parse(await cluster.run(n.netns, ['ip', '-j', 'link', 'show', 'cni0'])) as Array<{ address: string }>;
      for (const p of cluster.pods.filter((x) => x.node === n.index)) {
        const l = JSON.parse(await cluster.run(n.netns, ['ip', '-j', 'link', 'show', p.hostVeth])) as Array<{ ifindex: number }>;
        dp.pods.update(p.ip, { ifindex: l[0]!.ifindex, mac: p.mac, gw_mac: cni[0]!.address });
      }
    }
    const attach = (): void => {
      dps.forEach((dp, i) => {
        dp.attach('eth0', 'fromUplink');
        for (const p of cluster.pods.filter((x) => x.node === i + 1)) dp.attach(p.hostVeth, 'fromPod');
      });
    };
    const detach = (): void => {
      dps.forEach((dp, i) => {
        dp.detach('eth0');
        for (const p of cluster.pods.filter((x) => x.node === i + 1)) dp.detach(p.hostVeth);
      });
    };

    mkdirSync(nginxDir, { recursive: true });
    writeFileSync(`${nginxDir}/nginx.conf`, `worker_processes 1; daemon off; pid ${nginxDir}/nginx.pid; error_log stderr warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path ${nginxDir}; proxy_temp_path ${nginxDir}; fastcgi_temp_path ${nginxDir}; uwsgi_temp_path ${nginxDir}; scgi_temp_path ${nginxDir};
  server { listen 80; location / { return 200 "ok\\n"; } } }
`);
    cluster.start(c.netns, ['nginx', '-p', nginxDir, '-c', `${nginxDir}/nginx.conf`]);
    await new Promise((r) => setTimeout(r, 1000));
    const url = `http://${c.ip}/`;
    const rows: string[] = [];
    const prog = (dp: HostDatapath) => Object.values(dp.programs).map((p) => ({ ...programStats(p), name: p.name }));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of ['talaria fast path', 'bridge + VXLAN'] as const) {
        if (mode === 'talaria fast path') attach();
        else detach();
        await runWrk({ netns: a.netns, url, connections: CONNECTIONS, durationSeconds: 2, closeEachRequest: false }); // warm-up
        const before = dps.map(prog);
        const r = await runWrk({ netns: a.netns, url, connections: CONNECTIONS, durationSeconds: SECONDS, closeEachRequest: false });
        const after = dps.map(prog);
        let perPacket = '';
        if (mode === 'talaria fast path') {
          perPacket = after
            .flatMap((ps, i) => ps.map((p, j) => {
              const b = before[i]![j]!;
              const runs = p.runCount - b.runCount;
              return runs > 0 ? `node-${i + 1} ${p.name.replace('tl_host_', '')}: ${((p.runTimeNs - b.runTimeNs) / runs).toFixed(0)} ns x ${runs}` : '';
            }))
            .filter(Boolean)
            .join('; ');
        }
        rows.push(`| ${round} | ${mode} | ${r.rps.toFixed(0)} | ${r.latencyMs.p50.toFixed(3)} | ${r.latencyMs.p99.toFixed(3)} | ${r.errors} | ${perPacket} |`);
      }
    }
    console.log(`\n## Pod-to-pod HTTP across two nodes (wrk -t1 -c${CONNECTIONS}, ${SECONDS}s, keep-alive, nginx return 200)\n`);
    console.log('| round | path | requests/s | p50 ms | p99 ms | errors | BPF run time per packet under this load |\n| --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows) console.log(r);
  } finally {
    stats.close();
    for (const dp of dps) dp.close();
    await cluster.destroy();
    removePinDir(pinDir);
    rmSync(nginxDir, { recursive: true, force: true });
  }
}

testRunCosts();
await traffic();
