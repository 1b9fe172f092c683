// The outcome of one update that did not apply: a canonical code and a
// message naming the object and the field, reported as that update's
// p4.v1.Error.
import { Code } from '../proto/codes.js';
import type { CodeNumber } from '../proto/codes.js';

export class UpdateError extends Error {
  override name = 'UpdateError';
  constructor(readonly code: CodeNumber, message: string) {
    super(message);
  }
}

export const invalid = (message: string): UpdateError => new UpdateError(Code.INVALID_ARGUMENT, message);
