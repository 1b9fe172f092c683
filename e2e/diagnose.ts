// What a failed pod -> NodePort probe leaves to go on: where the packets of
// one more attempt were seen (tcpdump on the client node's uplink, the
// switch and the target node's uplink), the client node's neighbour entry
// for the target, the switch bridge's forwarding table (baseline modes) and
// both nodes' conntrack entries, and whatever of Talaria's data path is
// still attached or running. Seen now and then in the kube-proxy modes
// (pod -> another node's NodePort times out for 30 s) and not reproduced
// by hand: the failure has to carry its own evidence.
import { runInNetns } from '../testbed/run-in-netns.js';
import type { E2eContext } from './context.js';

interface NodeRef {
  name: string;
  netns: string;
  ip: string;
}

export async function diagnoseNodePortPath(ctx: E2eContext, client: NodeRef, target: NodeRef, port: number, clientNetns: string): Promise<string> {
  const filter = `tcp port ${port} or arp`;
  const capture = (netns: string, dev: string): Promise<string> =>
    runInNetns(netns, ['timeout', '4', 'tcpdump', '-nn', '-e', '-l', '-i', dev, '-c', '12', filter], 10_000).then((r) => r.stdout.trim() || '(nothing)');
  const captures = Promise.all([capture(client.netns, 'eth0'), capture(ctx.tb.switch.netns, 'any'), capture(target.netns, 'eth0')]);
  await new Promise((r) => setTimeout(r, 500));
  await ctx.http(clientNetns, target.ip, port, 1).catch(() => undefined);
  const [onClient, onSwitch, onTarget] = await captures;
  const cmd = async (netns: string, argv: string[]): Promise<string> => {
    const r = await runInNetns(netns, argv, 10_000);
    return (r.stdout + r.stderr).trim() || '(none)';
  };
  async function entriesWithPort(netns: string, p: number): Promise<string> {
    const lines = (await runInNetns(netns, ['conntrack', '-L', '-p', 'tcp'], 10_000)).stdout.split('\n');
    return lines.filter((l) => l.includes(`port=${p} `)).join('\n') || '(none)';
  }
  const sections: [string, string][] = [
    [`${client.name} eth0 during one more attempt`, onClient],
    ['switch (all ports)', onSwitch],
    [`${target.name} eth0`, onTarget],
    [`${client.name} neighbours`, await cmd(client.netns, ['ip', 'neigh', 'show'])],
    ['switch bridge fdb', await cmd(ctx.tb.switch.netns, ['bridge', 'fdb', 'show', 'dynamic'])],
    [`${client.name} conntrack entries naming port ${port}`, await entriesWithPort(client.netns, port)],
    [`${target.name} conntrack entries naming port ${port} (either direction)`, await entriesWithPort(target.netns, port)],
    [`${target.name} conntrack statistics`, await cmd(target.netns, ['conntrack', '-S'])],
    // Anything of another mode's data path left behind (the suite runs the modes one after another on the same names).
    [`${client.name} tc filters on eth0`, await cmd(client.netns, ['sh', '-c', 'tc filter show dev eth0 ingress; tc filter show dev eth0 egress'])],
    [`${target.name} tc filters on eth0`, await cmd(target.netns, ['sh', '-c', 'tc filter show dev eth0 ingress; tc filter show dev eth0 egress'])],
    ['Talaria processes on the machine', await cmd('', ['sh', '-c', 'pgrep -af "main.js (nodeagent|controller|softswitch)" || true'])],
  ];
  return sections.map(([title, text]) => `${title}:\n  ${text.replace(/\n/g, '\n  ')}`).join('\n');
}
