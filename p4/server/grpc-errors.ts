// Ending a gRPC call with a status: the code, a message naming what was
// wrong, and for Write the per-update details trailer.
import { Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { Code, codeName } from '../proto/codes.js';
import type { CodeNumber } from '../proto/codes.js';
import type { P4Error } from '../proto/types.js';
import { STATUS_DETAILS_KEY, encodeWriteErrors } from '../proto/status-details.js';
import { UpdateError } from './update-error.js';

export function callError(code: CodeNumber, message: string, metadata = new Metadata()): ServiceError {
  return Object.assign(new Error(`${codeName(code)}: ${message}`), { code, details: message, metadata });
}

/** UNKNOWN with one p4.v1.Error per update in grpc-status-details-bin. */
export function writeError(errors: readonly P4Error[], failed: number): ServiceError {
  const first = errors.find((e) => e.canonical_code !== Code.OK);
  const message = `${failed} of ${errors.length} updates failed${first ? `; first: ${codeName(first.canonical_code)}: ${first.message}` : ''}`;
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, encodeWriteErrors(Code.UNKNOWN, message, errors));
  return callError(Code.UNKNOWN, message, metadata);
}

/** Any thrown value as a call status (UpdateError keeps its code; the rest is INTERNAL). */
export function asCallError(err: unknown): ServiceError {
  if (err instanceof UpdateError) return callError(err.code, err.message);
  if (err && typeof err === 'object' && 'code' in err && 'details' in err) return err as ServiceError;
  return callError(Code.INTERNAL, err instanceof Error ? err.message : String(err));
}
