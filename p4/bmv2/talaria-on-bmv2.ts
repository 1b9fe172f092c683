// talaria.p4 running on BMv2, for the tests that need the reference target:
// compiled by p4c, simple_switch_grpc on three veth ports in a namespace of
// its own, and a primary P4Runtime client that installed the pipeline.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { P4RuntimeClient } from '../client/index.js';
import { talariaP4Info } from '../p4info/load-p4info.js';
import { Bmv2Process } from './bmv2-process.js';
import { PacketPorts } from './packet-ports.js';
import { compileForBmv2 } from './toolchain.js';
import type { CompiledProgram, P4Tools } from './toolchain.js';

export class TalariaOnBmv2 {
  private constructor(
    private readonly dir: string,
    readonly program: CompiledProgram,
    readonly ports: PacketPorts,
    private readonly bmv2: Bmv2Process,
    readonly client: P4RuntimeClient,
  ) {}

  /** `name` names the namespace (unique per test file). Ports 1-3 are sw1-sw3. */
  static async start(tools: P4Tools, name: string): Promise<TalariaOnBmv2> {
    const dir = mkdtempSync(join(tmpdir(), 'talaria-p4c-'));
    const made: { ports?: PacketPorts; bmv2?: Bmv2Process; client?: P4RuntimeClient } = {};
    try {
      const program = compileForBmv2(tools, dir);
      const ports = (made.ports = await PacketPorts.create(`${name}-${process.pid}`, 3));
      const bmv2 = (made.bmv2 = await Bmv2Process.start({ tools, netns: ports.netns, ports: { 1: 'sw1', 2: 'sw2', 3: 'sw3' } }));
      const client = (made.client = new P4RuntimeClient({ address: bmv2.address, deviceId: bmv2.deviceId, electionId: 1, p4info: talariaP4Info() }));
      await client.connect();
      await client.arbitrate();
      await client.setPipeline(talariaP4Info(), { cookie: 1, deviceConfig: program.json });
      return new TalariaOnBmv2(dir, program, ports, bmv2, client);
    } catch (err) {
      await made.client?.close();
      await made.bmv2?.stop();
      await made.ports?.remove();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
    await this.bmv2.stop();
    await this.ports.remove();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
