/**
 * Error classes the CLI maps to exit codes. Library code throws these and
 * never calls process.exit: the single top-level handler in cli/main.ts
 * decides what the user sees.
 */

/** A mistake in what the user asked for: printed as one line, exit code 2. */
export class UserError extends Error {
  override readonly name = 'UserError';
  readonly exitCode = 2;
}

/** Something the tool could not do (a port in use, a binary missing): exit code 1. */
export class OperationalError extends Error {
  override readonly name = 'OperationalError';
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A bench threshold that failed: exit code 99, as k6 does. */
export class ThresholdError extends Error {
  override readonly name = 'ThresholdError';
  readonly exitCode = 99;
  constructor(readonly failures: string[]) {
    super(`${failures.length} threshold(s) failed`);
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof UserError || error instanceof OperationalError || error instanceof ThresholdError) {
    return error.exitCode;
  }
  return 1;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
