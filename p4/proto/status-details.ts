// The P4Runtime way of reporting per-update outcomes: a failed Write ends
// with gRPC status UNKNOWN and a `grpc-status-details-bin` trailer holding a
// google.rpc.Status whose details pack one p4.v1.Error per update, in order
// (canonical_code OK for the updates that worked).
import { decodeMessage, encodeMessage } from './load.js';
import type { P4Error, RpcStatus } from './types.js';
import { P4_ERROR_TYPE_URL } from './types.js';

export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

/** google.rpc.Status bytes carrying these per-update errors. */
export function encodeWriteErrors(code: number, message: string, errors: readonly P4Error[]): Buffer {
  return encodeMessage('google.rpc.Status', {
    code,
    message,
    details: errors.map((e) => ({ type_url: P4_ERROR_TYPE_URL, value: encodeMessage('p4.v1.Error', e) })),
  });
}

/**
 * The per-update errors in a google.rpc.Status (the trailer's bytes), or
 * undefined when the bytes carry no p4.v1.Error details.
 */
export function decodeWriteErrors(bytes: Uint8Array): { status: RpcStatus; errors: P4Error[] } | undefined {
  const status = decodeMessage<RpcStatus>('google.rpc.Status', bytes);
  const errors = status.details
    .filter((d) => d.type_url.endsWith('/p4.v1.Error'))
    .map((d) => decodeMessage<P4Error>('p4.v1.Error', d.value));
  return errors.length > 0 ? { status, errors } : undefined;
}
