// The client's StreamChannel: sends MasterArbitrationUpdate, tracks whether
// this client is primary, and when the stream breaks (server restart,
// network) reopens it with exponential backoff and arbitrates again with the
// same election id, so that a controller regains primaryship by itself.
import type * as grpc from '@grpc/grpc-js';
import { Code, codeName } from '../proto/codes.js';
import type { StreamMessageRequest, StreamMessageResponse } from '../proto/types.js';
import { bigIntToUint128, uint128ToBigInt } from '../proto/uint128.js';
import { P4RuntimeError } from './errors.js';

export interface ArbitrationResult {
  /** Whether this client is the primary. */
  readonly primary: boolean;
  /** OK (primary), ALREADY_EXISTS (backup) or NOT_FOUND (no primary). */
  readonly code: number;
  readonly message: string;
  /** The election id this client arbitrated with. */
  readonly electionId: bigint;
  /** The primary's election id (or the highest the server has seen when there is no primary). */
  readonly serverElectionId: bigint;
}

export interface ArbitrationChannelOptions {
  deviceId: bigint;
  /** The P4Runtime role to arbitrate in ('' = the default role). */
  role: string;
  openStream: () => grpc.ClientDuplexStream<StreamMessageRequest, StreamMessageResponse>;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Arbitrate again when told there is no primary (takes over from a lost primary). */
  takeOverWhenPrimaryLost: boolean;
  onResult: (result: ArbitrationResult) => void;
  onStreamError: (err: P4RuntimeError) => void;
}

interface Waiter {
  resolve: (r: ArbitrationResult) => void;
  reject: (e: Error) => void;
}

/** Codes after which reopening the stream cannot help: the server refused us. */
const FATAL = new Set<number>([Code.INVALID_ARGUMENT, Code.NOT_FOUND, Code.PERMISSION_DENIED, Code.UNIMPLEMENTED, Code.UNAUTHENTICATED]);

export class ArbitrationChannel {
  private stream: grpc.ClientDuplexStream<StreamMessageRequest, StreamMessageResponse> | undefined;
  private electionId: bigint | undefined;
  private waiters: Waiter[] = [];
  private backoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  last: ArbitrationResult | undefined;

  constructor(private readonly options: ArbitrationChannelOptions) {
    this.backoffMs = options.initialBackoffMs;
  }

  /**
   * Sends an arbitration update (opening the stream if needed); resolves with
   * the server's answer, or rejects after timeoutMs (DEADLINE_EXCEEDED) while
   * the channel keeps retrying in the background.
   */
  arbitrate(electionId: bigint, timeoutMs: number): Promise<ArbitrationResult> {
    if (this.closed) return Promise.reject(new P4RuntimeError('StreamChannel', Code.CANCELLED, 'client closed'));
    this.electionId = electionId;
    const answer = new Promise<ArbitrationResult>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new P4RuntimeError('StreamChannel', Code.DEADLINE_EXCEEDED, `no arbitration answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
    if (!this.stream) this.open();
    else this.send();
    return answer;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      stream.removeAllListeners();
      stream.on('error', () => undefined);
      stream.end();
      stream.cancel();
    }
    const err = new P4RuntimeError('StreamChannel', Code.CANCELLED, 'client closed');
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  private send(): void {
    if (!this.stream || this.electionId === undefined) return;
    this.stream.write({
      arbitration: { device_id: this.options.deviceId.toString(), role: this.options.role ? { name: this.options.role } : null, election_id: bigIntToUint128(this.electionId) },
    });
  }

  private open(): void {
    const stream = this.options.openStream();
    this.stream = stream;
    stream.on('data', (message: StreamMessageResponse) => this.onMessage(message));
    stream.on('error', (err: grpc.ServiceError) => this.onBroken(stream, err.code ?? Code.UNAVAILABLE, err.details ?? err.message));
    stream.on('end', () => this.onBroken(stream, Code.UNAVAILABLE, 'stream ended by the server'));
    this.send();
  }

  private onMessage(message: StreamMessageResponse): void {
    const a = message.arbitration;
    if (!a) return;
    this.backoffMs = this.options.initialBackoffMs;
    const code = a.status?.code ?? Code.OK;
    const result: ArbitrationResult = {
      primary: code === Code.OK,
      code,
      message: a.status?.message ?? '',
      electionId: this.electionId ?? 0n,
      serverElectionId: uint128ToBigInt(a.election_id) ?? 0n,
    };
    this.last = result;
    for (const w of this.waiters.splice(0)) w.resolve(result);
    this.options.onResult(result);
    if (code === Code.NOT_FOUND && this.options.takeOverWhenPrimaryLost) this.send();
  }

  private onBroken(stream: grpc.ClientDuplexStream<StreamMessageRequest, StreamMessageResponse>, code: number, details: string): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    stream.removeAllListeners();
    stream.on('error', () => undefined);
    if (this.closed) return;
    const err = new P4RuntimeError('StreamChannel', code, details);
    const lost = this.last?.primary;
    this.last = undefined;
    if (lost !== undefined) {
      this.options.onResult({ primary: false, code: Code.UNAVAILABLE, message: `stream lost: ${codeName(code)}: ${details}`, electionId: this.electionId ?? 0n, serverElectionId: 0n });
    }
    if (FATAL.has(code)) {
      for (const w of this.waiters.splice(0)) w.reject(err);
      this.options.onStreamError(err);
      return;
    }
    // Transient: reopen and arbitrate again after a growing, jittered pause.
    const delay = this.backoffMs * (0.8 + Math.random() * 0.4);
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs);
    this.timer = setTimeout(() => {
      if (!this.closed && !this.stream && this.electionId !== undefined) this.open();
    }, delay);
    this.timer.unref();
  }
}
