// A P4Runtime server on an ephemeral loopback port with the in-memory target,
// and clients for it: what the round-trip tests (and the interop test) use.
import { MemoryTarget } from '../server/memory-target.js';
import type { P4Target } from '../server/target.js';
import type { MemoryTargetOptions } from '../server/memory-target.js';
import { P4RuntimeServer, type P4RuntimeServerOptions } from '../server/server.js';
import { P4RuntimeClient } from '../client/client.js';
import type { P4RuntimeClientOptions } from '../client/client.js';
import { talariaP4Info } from '../p4info/load-p4info.js';

export const DEVICE_ID = 7;

export class Harness<T extends P4Target = MemoryTarget> {
  server: P4RuntimeServer | undefined;
  port = 0;
  readonly clients: P4RuntimeClient[] = [];

  constructor(
    readonly target: T = new MemoryTarget() as P4Target as T,
    /** The server's transport and access policy (default: plaintext, anyone writes). */
    private readonly serverOptions: Pick<P4RuntimeServerOptions, 'transport' | 'access'> = {},
  ) {}

  static withCapacities(capacities: MemoryTargetOptions['capacities']): Harness {
    return new Harness(new MemoryTarget({ capacities }));
  }

  /** Starts (or restarts, on the same port and target) the server. */
  async start(): Promise<void> {
    this.server = new P4RuntimeServer({ deviceId: DEVICE_ID, target: this.target, ...this.serverOptions });
    this.port = await this.server.start(`127.0.0.1:${this.port}`);
  }

  async stopServer(): Promise<void> {
    await this.server?.stop(200);
    this.server = undefined;
  }

  client(options: Partial<P4RuntimeClientOptions> = {}): P4RuntimeClient {
    const client = new P4RuntimeClient({
      address: `127.0.0.1:${this.port}`,
      deviceId: DEVICE_ID,
      p4info: talariaP4Info(),
      deadlineMs: 5000,
      reconnect: { initialMs: 50, maxMs: 200 },
      ...options,
    });
    this.clients.push(client);
    return client;
  }

  /** A client that arbitrated as primary and set talaria's pipeline. */
  async primary(electionId = 10n): Promise<P4RuntimeClient> {
    const client = this.client({ electionId });
    const r = await client.arbitrate();
    if (!r.primary) throw new Error(`expected to be primary, got code ${r.code}`);
    await client.setPipeline(talariaP4Info(), { cookie: 42n });
    return client;
  }

  async close(): Promise<void> {
    for (const c of this.clients.splice(0)) await c.close();
    await this.stopServer();
  }
}

/** Resolves when the predicate holds for an arbitration answer the client receives. */
export function waitForArbitration(client: P4RuntimeClient, predicate: (primary: boolean, code: number) => boolean, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const last = client.arbitration;
    if (last && predicate(last.primary, last.code)) return resolve();
    const timer = setTimeout(() => {
      off();
      reject(new Error('arbitration state not reached in time'));
    }, timeoutMs);
    const off = client.onArbitration((r) => {
      if (predicate(r.primary, r.code)) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
}
