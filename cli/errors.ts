// How the CLI ends on failure: expected failures (bad input, a missing
// dependency, a refused operation) print one line; bugs print the stack.

/** A failure the user can act on; printed without a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

/** A flag's value parser whose message (naming the flag and the bad part) becomes the user's error. */
export function flagValue<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
  };
}

export function exitWithError(err: unknown): never {
  if (err instanceof UserError) {
    process.stderr.write(`talaria: ${err.message}\n`);
  } else {
    process.stderr.write(`talaria: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
}
