// The controller's connection to the switch: connect (retrying), arbitrate,
// make sure the switch runs talaria.p4 (the pipeline cookie is a hash of the
// P4Info and the device config; a missing or different pipeline is pushed,
// with the target's device config: BMv2 needs its JSON there, and with an
// empty one accepts the pipeline and then refuses every write), then hand the syncer a
// session. When the stream breaks or another controller becomes primary the
// session is withdrawn; the client re-arbitrates by itself after a break and
// the whole check runs again, followed by a full reconcile.
import { createHash } from 'node:crypto';
import { P4RuntimeClient, P4RuntimeWriteError, P4RuntimeError, Code, codeName, type P4InfoIndex } from '../../p4/client/index.js';
import { encodeP4Info } from '../../p4/p4info/load-p4info.js';
import type { Entity as P4Entity, Update } from '../../p4/proto/types.js';
import type { P4RuntimeTransport } from '../../p4/transport.js';
import type { SwitchSession, UpdateFailure } from './session.js';

export interface SwitchConnectionOptions {
  readonly address: string;
  readonly transport?: P4RuntimeTransport;
  readonly deviceId: bigint;
  readonly electionId: bigint;
  readonly p4info: P4InfoIndex;
  /** SetForwardingPipelineConfig's p4_device_config; empty (the eBPF switch) by default. */
  readonly deviceConfig?: Buffer;
  readonly log?: (line: string) => void;
  /** Called when this controller is primary on a switch running talaria.p4. */
  readonly onUp: (session: SwitchSession) => void;
  /** Called when the session is gone (stream broke, another primary). */
  readonly onDown: (why: string) => void;
  readonly retryMs?: number;
}

/**
 * The pipeline cookie of a P4Info and device config: the first 63 bits of
 * their SHA-256 (positive in every signed reading). Without a device config
 * it is the P4Info's alone, as before device configs were sent.
 */
export function pipelineCookie(p4info: P4InfoIndex, deviceConfig: Buffer = Buffer.alloc(0)): bigint {
  const hash = createHash('sha256').update(encodeP4Info(p4info.message));
  if (deviceConfig.length > 0) hash.update(deviceConfig);
  return hash.digest().readBigUInt64BE(0) >> 1n;
}

export class SwitchConnection {
  private client: P4RuntimeClient | undefined;
  private up = false;
  private stopped = false;
  private checking: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: (line: string) => void;
  readonly cookie: bigint;

  constructor(private readonly opts: SwitchConnectionOptions) {
    this.log = opts.log ?? (() => {});
    this.cookie = pipelineCookie(opts.p4info, opts.deviceConfig);
  }

  get connected(): boolean {
    return this.up;
  }

  start(): void {
    this.stopped = false;
    const client = new P4RuntimeClient({
      address: this.opts.address,
      transport: this.opts.transport,
      deviceId: this.opts.deviceId,
      electionId: this.opts.electionId,
      p4info: this.opts.p4info,
      reconnect: { initialMs: 100, maxMs: 2000 },
      deadlineMs: 5000,
    });
    this.client = client;
    client.onArbitration((r) => {
      if (this.stopped || this.client !== client) return;
      if (r.primary && !this.up) this.schedule(0);
      if (!r.primary && this.up) this.down(`not primary any more: ${codeName(r.code)} ${r.message}`);
    });
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.checking;
    if (this.up) this.down('stopping');
    const c = this.client;
    this.client = undefined;
    await c?.close();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.checking ??= this.establish().finally(() => {
        this.checking = undefined;
      });
    }, ms);
  }

  private down(why: string): void {
    this.up = false;
    this.log(`switch ${this.opts.address}: session down: ${why}`);
    this.opts.onDown(why);
  }

  private async establish(): Promise<void> {
    const client = this.client;
    if (!client || this.stopped || this.up) return;
    try {
      await client.connect();
      const r = await client.arbitrate();
      if (!r.primary) {
        this.log(`switch ${this.opts.address}: backup (primary election id ${r.serverElectionId}); waiting`);
        this.schedule(this.opts.retryMs ?? 1000);
        return;
      }
      await this.ensurePipeline(client);
      if (this.stopped || this.client !== client) return;
      this.up = true;
      this.log(`switch ${this.opts.address}: primary with election id ${client.electionId}, pipeline cookie ${this.cookie}`);
      this.opts.onUp(sessionOf(client));
    } catch (err) {
      this.log(`switch ${this.opts.address}: ${err instanceof Error ? err.message : String(err)}; retrying`);
      this.schedule(this.opts.retryMs ?? 1000);
    }
  }

  private async ensurePipeline(client: P4RuntimeClient): Promise<void> {
    let cookie: bigint | undefined;
    try {
      cookie = (await client.getPipeline('COOKIE_ONLY')).cookie;
    } catch (err) {
      if (!(err instanceof P4RuntimeError) || err.code !== Code.FAILED_PRECONDITION) throw err;
    }
    if (cookie === this.cookie) return;
    const device = this.opts.deviceConfig?.length ? ` with a ${this.opts.deviceConfig.length}-byte device config` : '';
    this.log(`switch ${this.opts.address}: pipeline ${cookie === undefined ? 'missing' : `cookie ${cookie} differs`}; pushing talaria.p4${device}`);
    await client.setPipeline(this.opts.p4info, { cookie: this.cookie, action: 'VERIFY_AND_COMMIT', deviceConfig: this.opts.deviceConfig });
  }
}

function sessionOf(client: P4RuntimeClient): SwitchSession {
  return {
    async write(updates: Update[]): Promise<UpdateFailure[]> {
      try {
        // A big batch queued behind others on a busy switch may take long; the deadline only guards against a hung switch.
        await client.write(updates, { maxBatch: Math.max(1, updates.length), deadlineMs: 120_000 });
        return [];
      } catch (err) {
        if (err instanceof P4RuntimeWriteError && err.failures.length > 0) {
          return err.failures.map((f) => ({ index: f.index, code: f.code, message: f.message }));
        }
        throw err;
      }
    },
    read(entities: P4Entity[]): Promise<P4Entity[]> {
      return client.readAll(entities);
    },
  };
}
