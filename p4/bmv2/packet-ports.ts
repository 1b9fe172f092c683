// A namespace with N veth pairs for a switch under test: the switch takes
// `sw<n>` as its port n; the test sends into and listens on the peer `p<n>`
// through packet_io.py (raw AF_PACKET frames). IPv6 is off in the namespace
// so that the kernel sends nothing of its own on the links.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { join } from 'node:path';
import { P4_DIR } from '../paths.js';

export interface Received {
  port: number;
  frame: Buffer;
}

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class PacketPorts {
  private readonly answers: ((line: string) => void)[] = [];

  private constructor(
    readonly netns: string,
    readonly count: number,
    private readonly io: ChildProcessWithoutNullStreams,
    private readonly lines: Interface,
  ) {
    lines.on('line', (l) => this.answers.shift()?.(l));
  }

  /** The switch side of port n. */
  static switchIface(port: number): string {
    return `sw${port}`;
  }

  static async create(netns: string, count: number): Promise<PacketPorts> {
    ip(['netns', 'add', netns]);
    try {
      ip(['-n', netns, 'link', 'set', 'lo', 'up']);
      execFileSync('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      for (let n = 1; n <= count; n++) {
        ip(['-n', netns, 'link', 'add', `sw${n}`, 'type', 'veth', 'peer', 'name', `p${n}`]);
        ip(['-n', netns, 'link', 'set', `sw${n}`, 'up']);
        ip(['-n', netns, 'link', 'set', `p${n}`, 'up']);
      }
      const ifaces = Array.from({ length: count }, (_, i) => `p${i + 1}`);
      const io = spawn('ip', ['netns', 'exec', netns, 'python3', join(P4_DIR, 'bmv2', 'packet_io.py'), ...ifaces]);
      const lines = createInterface({ input: io.stdout });
      const ports = new PacketPorts(netns, count, io, lines);
      const ready = await ports.next(5000);
      if (!ready.startsWith('{"ready"')) throw new Error(`packet_io.py: ${ready}`);
      return ports;
    } catch (err) {
      ip(['netns', 'del', netns]);
      throw err;
    }
  }

  private next(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`packet_io.py answered nothing in ${timeoutMs} ms`)), timeoutMs);
      this.answers.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
    });
  }

  /** Sends a frame into port n and returns what left any port within `ms`. */
  async send(port: number, frame: Buffer, ms = 300): Promise<Received[]> {
    const answer = this.next(ms + 5000);
    this.io.stdin.write(JSON.stringify({ send: `p${port}`, frame: frame.toString('hex'), ms }) + '\n');
    const { received } = JSON.parse(await answer) as { received: { iface: string; frame: string }[] };
    return received.map((r) => ({ port: Number(r.iface.slice(1)), frame: Buffer.from(r.frame, 'hex') }));
  }

  /** Stops the helper and deletes the namespace (and the veths); safe to call twice. */
  async remove(): Promise<void> {
    if (this.io.exitCode === null && this.io.signalCode === null) {
      const gone = new Promise((r) => this.io.once('exit', r));
      this.io.kill('SIGKILL');
      await gone;
    }
    this.lines.close();
    try {
      ip(['netns', 'del', this.netns]);
    } catch {
      // already gone
    }
  }
}
