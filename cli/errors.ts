// How the CLI ends on failure: expected failures (bad input, a missing
// dependency, a refused operation) print one line; bugs print the stack.

/** A failure the user can act on; printed without a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

export function exitWithError(err: unknown): never {
  if (err instanceof UserError) {
    process.stderr.write(`talaria: ${err.message}\n`);
  } else {
    process.stderr.write(`talaria: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
}
