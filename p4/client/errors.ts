// What a P4Runtime call can fail with, typed: P4RuntimeError for a call
// refused as a whole (its gRPC code and message), P4RuntimeWriteError for a
// Write whose updates failed one by one, each failure naming the entity.
import { codeName } from '../proto/codes.js';
import type { P4Error, Update } from '../proto/types.js';

export class P4RuntimeError extends Error {
  override name = 'P4RuntimeError';
  constructor(
    /** The RPC ('Write', 'Read', 'StreamChannel', ...). */
    readonly rpc: string,
    /** gRPC / google.rpc canonical code. */
    readonly code: number,
    /** The server's message. */
    readonly details: string,
  ) {
    super(`P4Runtime ${rpc} failed: ${codeName(code)}: ${details}`);
  }

  get codeName(): string {
    return codeName(this.code);
  }
}

export interface UpdateFailure {
  /** Position of the update in the array given to write(). */
  readonly index: number;
  readonly update: Update;
  readonly code: number;
  readonly codeName: string;
  readonly message: string;
  /** The entity in words: `frontends{dst_addr=10.96.0.10, dst_port=80, protocol=6}`. */
  readonly entity: string;
}

export class P4RuntimeWriteError extends P4RuntimeError {
  override name = 'P4RuntimeWriteError';
  constructor(
    code: number,
    details: string,
    /** The updates that failed (empty when the call failed as a whole, e.g. PERMISSION_DENIED). */
    readonly failures: readonly UpdateFailure[],
    /** Per-update results as the server sent them (empty when it sent none). */
    readonly results: readonly P4Error[],
  ) {
    super('Write', code, details);
    if (failures.length > 0) {
      const shown = failures.slice(0, 5).map((f) => `#${f.index} ${f.update.type} ${f.entity}: ${f.codeName}: ${f.message}`);
      this.message = `P4Runtime Write: ${failures.length} update(s) failed: ${shown.join('; ')}${failures.length > 5 ? '; ...' : ''}`;
    }
  }

  /** Whether every failure has this code (e.g. all ALREADY_EXISTS on a replayed batch). */
  all(code: number): boolean {
    return this.failures.length > 0 && this.failures.every((f) => f.code === code);
  }
}


