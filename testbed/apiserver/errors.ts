// API errors in Kubernetes' Status format. A handler throws ApiError; the HTTP
// layer writes status() as the body and code as the HTTP status, and the
// in-process API rethrows it unchanged, so both callers see the same reason.

export type StatusReason =
  | 'BadRequest'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Gone'
  | 'Expired'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'InternalError';

/** One cause of an Invalid (or other) error: which field, what is wrong. */
export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
}

/** The Kubernetes Status object (kind: Status). */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

const CODES: Record<StatusReason, number> = {
  BadRequest: 400,
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  Gone: 410,
  Expired: 410,
  MethodNotAllowed: 405,
  UnsupportedMediaType: 415,
  InternalError: 500,
};

/** An expected API failure (bad input, missing object, stale version). */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly code: number;
  constructor(
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.code = CODES[reason];
  }

  status(): Status {
    const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** `what` is "<resource> \"<name>\"" the way Kubernetes words it, e.g. pods "web-1". */
export function notFound(resource: string, name: string, group = ''): ApiError {
  return new ApiError('NotFound', `${resource}${group ? '.' + group : ''} "${name}" not found`, { name, group, kind: resource });
}

export function alreadyExists(resource: string, name: string, group = ''): ApiError {
  return new ApiError('AlreadyExists', `${resource}${group ? '.' + group : ''} "${name}" already exists`, { name, group, kind: resource });
}

export function conflict(resource: string, name: string, why: string, group = ''): ApiError {
  return new ApiError('Conflict', `Operation cannot be fulfilled on ${resource}${group ? '.' + group : ''} "${name}": ${why}`, { name, group, kind: resource });
}

export function badRequest(message: string): ApiError {
  return new ApiError('BadRequest', message);
}

/** A field-level problem; collect several and raise them with invalid(). */
export interface FieldError {
  field: string;
  /** Kubernetes' cause types: FieldValueRequired, FieldValueInvalid, FieldValueDuplicate, FieldValueNotSupported, FieldValueForbidden. */
  reason: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueDuplicate' | 'FieldValueNotSupported' | 'FieldValueForbidden';
  message: string;
}

/** 422 Invalid naming every bad field, worded like the real API server. */
export function invalid(kind: string, name: string, errors: readonly FieldError[], group = ''): ApiError {
  const list = errors.map((e) => `${e.field}: ${e.message}`);
  const msg = `${kind} "${name}" is invalid: ${list.length === 1 ? list[0] : '[' + list.join(', ') + ']'}`;
  return new ApiError('Invalid', msg, {
    name,
    group,
    kind,
    causes: errors.map((e) => ({ reason: e.reason, message: e.message, field: e.field })),
  });
}
