// What a sync needs from a connected, primary P4Runtime session: batched
// writes that report each refused update, and reads. The connection manager
// (switch/connection.ts) provides it over the P4RuntimeClient; tests give a
// fake.
import type { Entity as P4Entity, Update } from '../../p4/proto/types.js';

export interface UpdateFailure {
  /** Index of the update in the batch. */
  readonly index: number;
  /** google.rpc.Code of the refusal. */
  readonly code: number;
  readonly message: string;
}

export interface SwitchSession {
  /**
   * Writes one batch (CONTINUE_ON_ERROR). Resolves with the refused updates
   * (empty when all were applied); rejects when the RPC itself failed
   * (connection lost, no longer primary).
   */
  write(updates: Update[]): Promise<UpdateFailure[]>;
  read(entities: P4Entity[]): Promise<P4Entity[]>;
}

/** google.rpc.Code values the writer treats specially. */
export const GrpcCode = { OK: 0, NOT_FOUND: 5, ALREADY_EXISTS: 6, RESOURCE_EXHAUSTED: 8 } as const;
