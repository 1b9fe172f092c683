// One BMv2 `simple_switch_grpc` process: the v1model target with its
// P4Runtime server, started without a program (`--no-p4`; the controller
// sends the pipeline and the BMv2 JSON as its device config) inside a network
// namespace, its ports being interfaces of that namespace. The gRPC server
// listens on a unix socket, so that a client in any namespace reaches it
// without an address in the switch's namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { P4Tools } from './toolchain.js';

export interface Bmv2Options {
  tools: P4Tools;
  /** The namespace whose interfaces become the switch's ports. */
  netns: string;
  /** Port number -> interface name in `netns`. */
  ports: Readonly<Record<number, string>>;
  deviceId?: number;
  /** Mutual TLS: the server's certificate and the CA its clients' certificates must come from (BMv2 checks who connects, not what they may do). */
  tls?: { caFile: string; certFile: string; keyFile: string };
}

/** The command line of simple_switch_grpc in `netns`, serving P4Runtime on the unix socket `socket`. */
export function bmv2Argv(o: Bmv2Options & { socket: string }): string[] {
  const ifaces = Object.entries(o.ports).flatMap(([port, iface]) => ['-i', `${port}@${iface}`]);
  const tls = o.tls
    ? ['--grpc-server-ssl', '--grpc-server-cacert', o.tls.caFile, '--grpc-server-cert', o.tls.certFile, '--grpc-server-key', o.tls.keyFile, '--grpc-server-with-client-auth']
    : [];
  return ['ip', 'netns', 'exec', o.netns, o.tools.simpleSwitchGrpc, '--no-p4', '--device-id', String(o.deviceId ?? 1), ...ifaces, '--', '--grpc-server-addr', `unix:${o.socket}`, ...tls];
}

export class Bmv2Process {
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** The P4Runtime address, `unix:<path>`. */
    readonly address: string,
    readonly deviceId: number,
  ) {
    child.once('exit', () => (this.exited = true));
  }

  /** Starts the switch and waits until its gRPC socket exists (at most 10 s). */
  static async start(o: Bmv2Options): Promise<Bmv2Process> {
    const dir = mkdtempSync(join(tmpdir(), 'talaria-bmv2-'));
    const socket = join(dir, 'p4runtime.sock');
    const deviceId = o.deviceId ?? 1;
    const log = openSync(join(dir, 'bmv2.log'), 'a');
    const [cmd, ...args] = bmv2Argv({ ...o, deviceId, socket });
    const child = spawn(cmd!, args, { env: o.tools.env, stdio: ['ignore', log, log] });
    closeSync(log);
    const sw = new Bmv2Process(child, dir, `unix:${socket}`, deviceId);
    const deadline = Date.now() + 10_000;
    while (!existsSync(socket)) {
      if (sw.exited || Date.now() > deadline) {
        const why = sw.exited ? 'exited' : 'did not open its P4Runtime socket within 10 s';
        await sw.stop();
        throw new Error(`simple_switch_grpc ${why}: ${sw.log().trim().split('\n').slice(-5).join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return sw;
  }

  /** What the switch printed (its log is kept until stop()). */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'bmv2.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Kills the switch and removes its socket directory; safe to call twice. */
  async stop(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await gone;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
