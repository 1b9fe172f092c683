// The generic P4Runtime server (grpc-js): one device, arbitration over
// StreamChannel, SetForwardingPipelineConfig limited to the program the
// target implements, Write validated against the P4Info and the entity store
// and applied through the target, Read with wildcards and counters, errors
// as P4Runtime reports them. State lives in the target; the server rebuilds
// its store from the target on start, so a restart keeps the forwarding
// state until a new primary reconciles it. The transport (mutual TLS or an
// explicit plaintext) and the access policy (who may take which role,
// access.ts) decide who may change anything.
import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { extractTraceContext } from '../../observability/grpc-trace-context.js';
import { P4InfoIndex } from '../p4info/p4info.js';
import type { P4InfoMessage } from '../p4info/p4info.js';
import { normaliseP4Info, talariaP4Info } from '../p4info/load-p4info.js';
import { Code } from '../proto/codes.js';
import { p4RuntimeService } from '../proto/load.js';
import type {
  Entity,
  GetForwardingPipelineConfigRequest,
  ReadRequest,
  SetForwardingPipelineConfigRequest,
  StreamMessageRequest,
  StreamMessageResponse,
  Uint128,
  WriteRequest,
} from '../proto/types.js';
import { bigIntToUint128, uint128ToBigInt } from '../proto/uint128.js';
import { peerIdentities, serverCredentials, PLAINTEXT, type P4RuntimeTransport, type ServerCall } from '../transport.js';
import { authorize, type AccessPolicy } from './access.js';
import { Arbitrator } from './arbitration.js';
import type { ArbitrationPeer } from './arbitration.js';
import { EntityStore } from './entity-store.js';
import { asCallError, writeError } from './grpc-errors.js';
import type { Pipeline } from './pipeline.js';
import { verifyPipeline } from './pipeline.js';
import { readEntities } from './read.js';
import { SerialQueue } from './serial-queue.js';
import type { P4Target } from './target.js';
import { UpdateError } from './update-error.js';
import { validateEntity } from './validate.js';
import { processWrite } from './write.js';

export const P4RUNTIME_API_VERSION = '1.4.0';
/** A whole desired state in one Write (240k entities is ~20 MB) must fit. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const tracer = trace.getTracer('talaria-p4runtime-server');

export interface P4RuntimeServerOptions {
  deviceId: bigint | number;
  target: P4Target;
  /** The program the target implements (default: talaria.p4's P4Info). */
  p4info?: P4InfoIndex;
  /** Where notable events go (default: nowhere). */
  log?: (message: string) => void;
  /** Mutual TLS or plaintext (default plaintext: tests and loopback only). */
  transport?: P4RuntimeTransport;
  /** Who may take the default (writing) role (default: every admitted client). */
  access?: AccessPolicy;
}

export class P4RuntimeServer {
  readonly deviceId: bigint;
  private readonly target: P4Target;
  private readonly accepted: P4InfoIndex;
  private readonly log: (message: string) => void;
  private readonly transport: P4RuntimeTransport;
  private readonly access: AccessPolicy;
  /** One election per role (P4Runtime: a primary per role). */
  private readonly arbitrators = new Map<string, Arbitrator>();
  private readonly queue = new SerialQueue();
  private readonly streams = new Set<grpc.ServerDuplexStream<StreamMessageRequest, StreamMessageResponse>>();
  private store: EntityStore;
  private pipeline: Pipeline | undefined;
  private saved: Pipeline | undefined;
  private server: grpc.Server | undefined;

  constructor(options: P4RuntimeServerOptions) {
    this.deviceId = BigInt(options.deviceId);
    if (this.deviceId === 0n) throw new Error('device id must be non-zero');
    this.target = options.target;
    this.accepted = options.p4info ?? talariaP4Info();
    this.log = options.log ?? (() => undefined);
    this.transport = options.transport ?? PLAINTEXT;
    this.access = options.access ?? {};
    this.store = new EntityStore((id) => this.capacity(id));
  }

  /** Entries a table (members a profile) may hold: the P4Info size, or less if the target says so. */
  capacity(objectId: number): number {
    const info = this.accepted.findTable(objectId) ?? this.accepted.findActionProfile(objectId);
    const declared = info?.size ?? 0;
    const target = this.target.capacity?.(objectId);
    return target === undefined ? declared : Math.min(declared, target);
  }

  /** Restores state from the target, then listens. Returns the bound port. */
  async start(address = '127.0.0.1:9559'): Promise<number> {
    await this.restore();
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
    server.addService(p4RuntimeService(), this.handlers());
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, serverCredentials(this.transport), (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.server = server;
    const protection = this.transport.kind === 'mtls' ? 'mutual TLS' : 'PLAINTEXT: anyone who reaches it can reprogram the switch';
    const writers = this.access.writers ? `writers: ${this.access.writers.join(', ')}` : 'any admitted client may write';
    this.log(`P4Runtime server for device ${this.deviceId} on ${address.replace(/:\d+$/, '')}:${port} (target ${this.target.description}; ${protection}; ${writers})`);
    return port;
  }

  /** Ends open streams, stops listening (forcing after graceMs), closes the target. */
  async stop(graceMs = 1000): Promise<void> {
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await this.target.close();
  }

  private async restore(): Promise<void> {
    const state = await this.target.restore();
    if (!state) return;
    const p4info = new P4InfoIndex(normaliseP4Info(state.p4info) as P4InfoMessage);
    this.pipeline = { p4info, cookie: state.cookie === '0' ? null : state.cookie, deviceConfig: Buffer.alloc(0) };
    // Members before groups before table entries, so that references resolve.
    const rank = (e: Entity): number => (e.action_profile_member ? 0 : e.action_profile_group ? 1 : 2);
    let skipped = 0;
    for (const entity of [...state.entities].sort((a, b) => rank(a) - rank(b))) {
      try {
        const validated = validateEntity(p4info, entity, true);
        this.store.commit(this.store.prepare('INSERT', validated));
      } catch (err) {
        skipped++;
        this.log(`restore: skipped an entity the target holds: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.log(`restored ${state.entities.length - skipped} entities from the ${this.target.description} target`);
  }

  private checkDevice(deviceId: string | number | undefined): void {
    const id = BigInt(deviceId ?? 0);
    if (id === 0n) throw new UpdateError(Code.INVALID_ARGUMENT, 'device_id must be non-zero');
    if (id !== this.deviceId) throw new UpdateError(Code.NOT_FOUND, `unknown device_id ${id} (this is device ${this.deviceId})`);
  }

  private arbitrator(role: string): Arbitrator {
    let a = this.arbitrators.get(role);
    if (!a) this.arbitrators.set(role, (a = new Arbitrator()));
    return a;
  }

  /** A change of the switch: allowed for this client in this role, and from the role's primary. */
  private checkPrimary(call: ServerCall, electionId: Uint128 | null | undefined, role: string | undefined, what: string): void {
    authorize(this.access, role ?? '', peerIdentities(call), 'write');
    const arbitrator = this.arbitrator(role ?? '');
    const id = uint128ToBigInt(electionId);
    if (id === undefined || !arbitrator.isPrimary(id)) {
      const primary = arbitrator.primaryElectionId;
      throw new UpdateError(
        Code.PERMISSION_DENIED,
        `${what} needs the primary controller's election id (got ${id ?? 'none'}, primary ${primary ?? 'none'})`,
      );
    }
  }

  private requirePipeline(): Pipeline {
    if (!this.pipeline) throw new UpdateError(Code.FAILED_PRECONDITION, 'no forwarding pipeline: SetForwardingPipelineConfig first');
    return this.pipeline;
  }

  private handlers(): grpc.UntypedServiceImplementation {
    return {
      Capabilities: (_call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
        callback(null, { p4runtime_api_version: P4RUNTIME_API_VERSION });
      },
      Write: (call: grpc.ServerUnaryCall<WriteRequest, object>, callback: grpc.sendUnaryData<object>) => {
        this.write(call).then(() => callback(null, {}), (err: unknown) => callback(asCallError(err)));
      },
      Read: (call: grpc.ServerWritableStream<ReadRequest, object>) => {
        this.read(call).then(
          () => call.end(),
          (err: unknown) => call.emit('error', asCallError(err)),
        );
      },
      SetForwardingPipelineConfig: (call: grpc.ServerUnaryCall<SetForwardingPipelineConfigRequest, object>, callback: grpc.sendUnaryData<object>) => {
        this.setPipeline(call, call.request).then(() => callback(null, {}), (err: unknown) => callback(asCallError(err)));
      },
      GetForwardingPipelineConfig: (call: grpc.ServerUnaryCall<GetForwardingPipelineConfigRequest, object>, callback: grpc.sendUnaryData<object>) => {
        try {
          callback(null, this.getPipeline(call.request));
        } catch (err) {
          callback(asCallError(err));
        }
      },
      StreamChannel: (call: grpc.ServerDuplexStream<StreamMessageRequest, StreamMessageResponse>) => this.streamChannel(call),
    };
  }

  private async write(call: grpc.ServerUnaryCall<WriteRequest, object>): Promise<void> {
    const request = call.request;
    const span = tracer.startSpan('p4runtime.Write', { kind: SpanKind.SERVER, attributes: { 'p4runtime.device_id': String(request.device_id), 'p4runtime.updates': request.updates.length } }, extractTraceContext(call.metadata));
    try {
      await context.with(trace.setSpan(context.active(), span), () =>
        this.queue.run(async () => {
          this.checkDevice(request.device_id);
          this.checkPrimary(call, request.election_id, request.role, 'Write');
          const pipeline = this.requirePipeline();
          if (request.atomicity === 'DATAPLANE_ATOMIC') throw new UpdateError(Code.UNIMPLEMENTED, 'DATAPLANE_ATOMIC is not supported; use ROLLBACK_ON_ERROR');
          const outcome = await processWrite(pipeline.p4info, this.store, this.target, request.updates, request.atomicity === 'ROLLBACK_ON_ERROR');
          span.setAttribute('p4runtime.failed_updates', outcome.failed);
          if (outcome.failed > 0) throw writeError(outcome.errors, outcome.failed);
        }),
      );
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  }

  private async read(call: grpc.ServerWritableStream<ReadRequest, object>): Promise<void> {
    this.checkDevice(call.request.device_id);
    const pipeline = this.requirePipeline();
    for await (const chunk of readEntities(pipeline.p4info, this.store, this.target, call.request.entities)) {
      if (call.cancelled) return;
      if (!call.write({ entities: chunk })) await new Promise((resolve) => call.once('drain', resolve));
    }
  }

  private async setPipeline(call: ServerCall, request: SetForwardingPipelineConfigRequest): Promise<void> {
    await this.queue.run(async () => {
      this.checkDevice(request.device_id);
      this.checkPrimary(call, request.election_id, request.role, 'SetForwardingPipelineConfig');
      const action = request.action;
      if (action === 'COMMIT') {
        if (!this.saved) throw new UpdateError(Code.FAILED_PRECONDITION, 'COMMIT without a saved pipeline (VERIFY_AND_SAVE first)');
        await this.commit(this.saved, false);
        this.saved = undefined;
        return;
      }
      if (action !== 'VERIFY' && action !== 'VERIFY_AND_SAVE' && action !== 'VERIFY_AND_COMMIT' && action !== 'RECONCILE_AND_COMMIT') {
        throw new UpdateError(Code.INVALID_ARGUMENT, `pipeline action ${String(action)} (VERIFY, VERIFY_AND_SAVE, VERIFY_AND_COMMIT, COMMIT or RECONCILE_AND_COMMIT)`);
      }
      const pipeline = verifyPipeline(request.config, this.accepted);
      if (action === 'VERIFY_AND_SAVE') this.saved = pipeline;
      else if (action !== 'VERIFY') await this.commit(pipeline, action === 'RECONCILE_AND_COMMIT');
    });
  }

  /** Commits a verified pipeline; without reconcile the forwarding state is cleared, as P4Runtime specifies. */
  private async commit(pipeline: Pipeline, reconcile: boolean): Promise<void> {
    await this.target.setPipeline({ p4info: pipeline.p4info, cookie: pipeline.cookie ?? '0' }, reconcile);
    if (!reconcile) this.store.clear();
    this.pipeline = pipeline;
    this.log(`pipeline committed (cookie ${pipeline.cookie ?? 'none'}, ${reconcile ? 'state kept' : 'state cleared'})`);
  }

  private getPipeline(request: GetForwardingPipelineConfigRequest): object {
    this.checkDevice(request.device_id);
    const pipeline = this.requirePipeline();
    const type = request.response_type ?? 'ALL';
    const cookie = pipeline.cookie === null ? null : { cookie: pipeline.cookie };
    const withInfo = type === 'ALL' || type === 'P4INFO_AND_COOKIE';
    const withDevice = type === 'ALL' || type === 'DEVICE_CONFIG_AND_COOKIE';
    return {
      config: {
        p4info: withInfo ? pipeline.p4info.message : null,
        p4_device_config: withDevice ? pipeline.deviceConfig : Buffer.alloc(0),
        cookie,
      },
    };
  }

  private streamChannel(call: grpc.ServerDuplexStream<StreamMessageRequest, StreamMessageResponse>): void {
    this.streams.add(call);
    let ended = false;
    /** The role this stream arbitrated in, once it has. */
    let role: string | undefined;
    const peer: ArbitrationPeer = {
      notify: (outcome) => {
        // A stream that is going away hears nothing more (its 'cancelled' may still be queued).
        if (ended || call.cancelled || !call.writable) return;
        call.write({
          arbitration: {
            device_id: this.deviceId.toString(),
            role: role ? { name: role } : null,
            election_id: bigIntToUint128(outcome.electionId),
            status: { code: outcome.code, message: outcome.message, details: [] },
          },
        });
      },
    };
    const finish = (): void => {
      if (ended) return;
      ended = true;
      this.streams.delete(call);
      if (role !== undefined) this.arbitrator(role).remove(peer);
    };
    call.on('data', (message: StreamMessageRequest) => {
      try {
        if (message.arbitration) {
          const a = message.arbitration;
          this.checkDevice(a.device_id);
          const asked = a.role?.name ?? '';
          authorize(this.access, asked, peerIdentities(call), 'arbitrate');
          const electionId = uint128ToBigInt(a.election_id);
          if (electionId === undefined) throw new UpdateError(Code.INVALID_ARGUMENT, 'arbitration without election_id');
          if (role !== undefined && role !== asked) this.arbitrator(role).remove(peer);
          role = asked;
          this.arbitrator(role).arbitrate(peer, electionId);
        } else {
          call.write({ error: { canonical_code: Code.UNIMPLEMENTED, message: `stream message '${message.update ?? 'unknown'}' is not supported` } });
        }
      } catch (err) {
        finish();
        call.emit('error', asCallError(err));
      }
    });
    call.on('end', () => {
      finish();
      call.end();
    });
    call.on('cancelled', finish);
    call.on('error', finish);
    call.on('close', finish);
  }
}
