// P4RuntimeClient: a controller's connection to one P4Runtime device over
// @grpc/grpc-js. Arbitration on StreamChannel (re-arbitrating after the
// stream breaks), Capabilities, Set/GetForwardingPipelineConfig with cookie,
// batched Write with per-update errors, streaming Read with wildcards, over
// mutual TLS or an explicit plaintext (../transport.ts), in the default role
// or another (Role in the arbitration and in every Write). Every
// call carries a deadline and the active OpenTelemetry context (W3C
// traceparent in the gRPC metadata).
import * as grpc from '@grpc/grpc-js';
import { injectTraceContext } from '../../observability/grpc-trace-context.js';
import { entityLabel } from '../p4info/entities.js';
import { P4InfoIndex } from '../p4info/p4info.js';
import type { P4InfoMessage } from '../p4info/p4info.js';
import { Code } from '../proto/codes.js';
import { p4RuntimeClientConstructor } from '../proto/load.js';
import { STATUS_DETAILS_KEY, decodeWriteErrors } from '../proto/status-details.js';
import type {
  Atomicity,
  Entity,
  ForwardingPipelineConfig,
  PipelineAction,
  PipelineResponseType,
  ReadResponse,
  StreamMessageRequest,
  StreamMessageResponse,
  Update,
} from '../proto/types.js';
import { bigIntToUint128 } from '../proto/uint128.js';
import { clientChannel, PLAINTEXT, type P4RuntimeTransport } from '../transport.js';
import { ArbitrationChannel } from './arbitration-channel.js';
import type { ArbitrationResult } from './arbitration-channel.js';
import { P4RuntimeError, P4RuntimeWriteError } from './errors.js';
import type { UpdateFailure } from './errors.js';

export interface P4RuntimeClientOptions {
  /** 'HOST:PORT' of the device's P4Runtime server. */
  address: string;
  /** Non-zero device id. */
  deviceId: bigint | number;
  /** Election id for arbitrate() (default 1); higher wins. */
  electionId?: bigint | number;
  /** Names entities in errors; optional. */
  p4info?: P4InfoIndex;
  /** Deadline of each unary call and of connect()/arbitrate() (default 10 s). */
  deadlineMs?: number;
  /** Deadline of a whole Read (default 120 s). */
  readDeadlineMs?: number;
  /** StreamChannel reopening after a break: first pause and cap (default 100 ms, 5 s). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Arbitrate again on "no primary" (NOT_FOUND) notifications, to take over a lost primary's role (default false). */
  takeOverWhenPrimaryLost?: boolean;
  /** Updates per WriteRequest; write() splits longer arrays (default 5000). */
  maxBatch?: number;
  /** Mutual TLS or plaintext (default plaintext: tests and loopback only). */
  transport?: P4RuntimeTransport;
  /** P4Runtime role (default: the default role, which writes everything). */
  role?: string;
  channelOptions?: grpc.ChannelOptions;
}

export interface WriteOptions {
  /** CONTINUE_ON_ERROR (default) or ROLLBACK_ON_ERROR; applies per WriteRequest (per batch). */
  atomicity?: Atomicity;
  deadlineMs?: number;
  maxBatch?: number;
}

export interface SetPipelineOptions {
  /** Stored with the pipeline; getPipeline('COOKIE_ONLY') returns it (e.g. a hash of the P4Info). */
  cookie?: bigint | number;
  /** Target-specific binary (BMv2 JSON); empty for the eBPF target. */
  deviceConfig?: Buffer;
  /** VERIFY_AND_COMMIT (default; clears forwarding state), RECONCILE_AND_COMMIT (keeps it), VERIFY, ... */
  action?: PipelineAction;
}

export interface PipelineConfig {
  p4info?: P4InfoMessage;
  cookie?: bigint;
  deviceConfig: Buffer;
}

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
interface Stub extends grpc.Client {
  Write(req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<object>): grpc.ClientUnaryCall;
  Read(req: object, md: grpc.Metadata, opts: grpc.CallOptions): grpc.ClientReadableStream<ReadResponse>;
  SetForwardingPipelineConfig(req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<object>): grpc.ClientUnaryCall;
  GetForwardingPipelineConfig(req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<{ config: ForwardingPipelineConfig | null }>): grpc.ClientUnaryCall;
  Capabilities(req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<{ p4runtime_api_version: string }>): grpc.ClientUnaryCall;
  StreamChannel(md: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<StreamMessageRequest, StreamMessageResponse>;
}

const DEFAULT_DEADLINE_MS = 10_000;

function metadata(): grpc.Metadata {
  return injectTraceContext(new grpc.Metadata());
}

export class P4RuntimeClient {
  readonly deviceId: bigint;
  private electionIdValue: bigint;
  private readonly stub: Stub;
  private readonly channel: ArbitrationChannel;
  private readonly listeners = new Set<(r: ArbitrationResult) => void>();
  private p4info: P4InfoIndex | undefined;

  constructor(private readonly options: P4RuntimeClientOptions) {
    this.deviceId = BigInt(options.deviceId);
    if (this.deviceId === 0n) throw new RangeError('device id must be non-zero');
    this.electionIdValue = BigInt(options.electionId ?? 1);
    this.p4info = options.p4info;
    const Ctor = p4RuntimeClientConstructor();
    const channel = clientChannel(options.transport ?? PLAINTEXT);
    this.stub = new Ctor(options.address, channel.credentials, {
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      'grpc.max_send_message_length': 256 * 1024 * 1024,
      ...channel.options,
      ...options.channelOptions,
    }) as unknown as Stub;
    this.channel = new ArbitrationChannel({
      deviceId: this.deviceId,
      role: options.role ?? '',
      openStream: () => this.stub.StreamChannel(metadata()),
      initialBackoffMs: options.reconnect?.initialMs ?? 100,
      maxBackoffMs: options.reconnect?.maxMs ?? 5000,
      takeOverWhenPrimaryLost: options.takeOverWhenPrimaryLost ?? false,
      onResult: (r) => {
        for (const l of this.listeners) l(r);
      },
      onStreamError: () => undefined,
    });
  }

  private deadline(ms = this.options.deadlineMs ?? DEFAULT_DEADLINE_MS): grpc.CallOptions {
    return { deadline: Date.now() + ms };
  }

  get electionId(): bigint {
    return this.electionIdValue;
  }

  /** Whether the last arbitration answer made this client primary (false after the stream broke). */
  get isPrimary(): boolean {
    return this.channel.last?.primary ?? false;
  }

  /** The last arbitration answer, if the stream is up. */
  get arbitration(): ArbitrationResult | undefined {
    return this.channel.last;
  }

  /** Called on every arbitration answer and when the stream breaks; returns an unsubscribe function. */
  onArbitration(listener: (r: ArbitrationResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Uses this P4Info to name entities in errors. */
  useP4Info(p4info: P4InfoIndex): void {
    this.p4info = p4info;
  }

  /** Waits until the channel is connected (deadline: deadlineMs). */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stub.waitForReady(Date.now() + (this.options.deadlineMs ?? DEFAULT_DEADLINE_MS), (err) => {
        if (err) reject(new P4RuntimeError('connect', Code.UNAVAILABLE, `${this.options.address}: ${err.message}`));
        else resolve();
      });
    });
  }

  /**
   * Opens StreamChannel (if needed) and arbitrates. Resolves with the answer:
   * primary (OK) or backup (ALREADY_EXISTS); does not throw for a backup.
   * After a stream break the client reopens it and arbitrates again by itself.
   */
  arbitrate(electionId?: bigint | number): Promise<ArbitrationResult> {
    if (electionId !== undefined) this.electionIdValue = BigInt(electionId);
    return this.channel.arbitrate(this.electionIdValue, this.options.deadlineMs ?? DEFAULT_DEADLINE_MS);
  }

  private unary<T>(rpc: string, call: (cb: Callback<T>) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      call((err, value) => {
        if (err) reject(new P4RuntimeError(rpc, err.code, err.details));
        else resolve(value as T);
      });
    });
  }

  /** The server's P4Runtime API version ('1.4.0'). */
  async capabilities(): Promise<string> {
    const r = await this.unary<{ p4runtime_api_version: string }>('Capabilities', (cb) => this.stub.Capabilities({}, metadata(), this.deadline(), cb));
    return r.p4runtime_api_version;
  }

  /** SetForwardingPipelineConfig with this P4Info (needs primaryship). */
  async setPipeline(p4info: P4InfoIndex | P4InfoMessage, options: SetPipelineOptions = {}): Promise<void> {
    const message = p4info instanceof P4InfoIndex ? p4info.message : p4info;
    const request = {
      device_id: this.deviceId.toString(),
      election_id: bigIntToUint128(this.electionIdValue),
      role: this.options.role ?? '',
      action: options.action ?? 'VERIFY_AND_COMMIT',
      config: {
        p4info: message,
        p4_device_config: options.deviceConfig ?? Buffer.alloc(0),
        cookie: options.cookie === undefined ? null : { cookie: BigInt(options.cookie).toString() },
      },
    };
    await this.unary<object>('SetForwardingPipelineConfig', (cb) => this.stub.SetForwardingPipelineConfig(request, metadata(), this.deadline(), cb));
    if (p4info instanceof P4InfoIndex) this.p4info ??= p4info;
  }

  /** GetForwardingPipelineConfig; FAILED_PRECONDITION (as P4RuntimeError) when none is set. */
  async getPipeline(responseType: PipelineResponseType = 'ALL'): Promise<PipelineConfig> {
    const r = await this.unary<{ config: ForwardingPipelineConfig | null }>('GetForwardingPipelineConfig', (cb) =>
      this.stub.GetForwardingPipelineConfig({ device_id: this.deviceId.toString(), response_type: responseType }, metadata(), this.deadline(), cb),
    );
    const config = r.config;
    return {
      p4info: (config?.p4info ?? undefined) as P4InfoMessage | undefined,
      cookie: config?.cookie ? BigInt(config.cookie.cookie) : undefined,
      deviceConfig: config?.p4_device_config ?? Buffer.alloc(0),
    };
  }

  /**
   * Writes the updates, split into WriteRequests of at most maxBatch, in
   * order. Throws P4RuntimeWriteError listing every failed update (indices
   * into `updates`) once all batches were sent; a call refused as a whole
   * (PERMISSION_DENIED, ...) stops at that batch.
   */
  async write(updates: readonly Update[], options: WriteOptions = {}): Promise<void> {
    const maxBatch = options.maxBatch ?? this.options.maxBatch ?? 5000;
    const atomicity = options.atomicity ?? 'CONTINUE_ON_ERROR';
    const failures: UpdateFailure[] = [];
    const results: WriteResult[] = [];
    for (let start = 0; start < updates.length; start += maxBatch) {
      const batch = updates.slice(start, start + maxBatch);
      const outcome = await this.writeBatch(batch, atomicity, options.deadlineMs);
      if (outcome === undefined) continue;
      if (outcome.errors === undefined) {
        throw new P4RuntimeWriteError(outcome.code, outcome.details, failures, results);
      }
      outcome.errors.forEach((e, i) => {
        results.push(e);
        if (e.canonical_code !== Code.OK) {
          failures.push({
            index: start + i,
            update: batch[i],
            code: e.canonical_code,
            codeName: new P4RuntimeError('Write', e.canonical_code, '').codeName,
            message: e.message,
            entity: entityLabel(this.p4info, batch[i].entity),
          });
        }
      });
      if (atomicity !== 'CONTINUE_ON_ERROR' && failures.length > 0) break;
    }
    if (failures.length > 0) throw new P4RuntimeWriteError(Code.UNKNOWN, `${failures.length} of ${updates.length} updates failed`, failures, results);
  }

  private writeBatch(batch: readonly Update[], atomicity: Atomicity, deadlineMs?: number): Promise<BatchOutcome | undefined> {
    const request = {
      device_id: this.deviceId.toString(),
      election_id: bigIntToUint128(this.electionIdValue),
      role: this.options.role ?? '',
      updates: batch,
      atomicity,
    };
    return new Promise((resolve) => {
      this.stub.Write(request, metadata(), this.deadline(deadlineMs), (err) => {
        if (!err) return resolve(undefined);
        const bin = err.metadata?.get(STATUS_DETAILS_KEY)[0];
        const decoded = bin instanceof Buffer ? decodeWriteErrors(bin) : undefined;
        resolve({ code: err.code, details: err.details, errors: decoded?.errors.length === batch.length ? decoded.errors : undefined });
      });
    });
  }

  /**
   * Streams the entities matching the filters (wildcards: table_id 0, no
   * match, member/group id 0). Throws P4RuntimeError on failure.
   */
  async *read(entities: readonly Entity[], options: { deadlineMs?: number } = {}): AsyncGenerator<Entity> {
    const call = this.stub.Read(
      // No role: a read sees every table, whichever role the client writes in.
      { device_id: this.deviceId.toString(), entities },
      metadata(),
      this.deadline(options.deadlineMs ?? this.options.readDeadlineMs ?? 120_000),
    );
    try {
      for await (const response of call as AsyncIterable<ReadResponse>) {
        yield* response.entities;
      }
    } catch (err) {
      const e = err as grpc.ServiceError;
      throw new P4RuntimeError('Read', e.code ?? Code.UNKNOWN, e.details ?? e.message);
    } finally {
      call.cancel();
    }
  }

  /** read() collected into an array. */
  async readAll(entities: readonly Entity[], options: { deadlineMs?: number } = {}): Promise<Entity[]> {
    const out: Entity[] = [];
    for await (const e of this.read(entities, options)) out.push(e);
    return out;
  }

  /** Ends the stream (giving up primaryship) and the channel. */
  async close(): Promise<void> {
    this.channel.close();
    this.stub.close();
  }
}

type WriteResult = P4RuntimeWriteError['results'][number];
interface BatchOutcome {
  code: number;
  details: string;
  /** Per-update results when the server sent them for every update of the batch. */
  errors: WriteResult[] | undefined;
}

export type { ArbitrationResult };
