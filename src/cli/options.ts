import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../config/duration.js';
import { parseRate, type RateSpec } from '../config/rate.js';
import { parseSize } from '../config/size.js';
import { errorMessage } from '../errors.js';

/**
 * Option parsers shared by every command. They throw commander's
 * InvalidArgumentError so a bad value is reported as one line, exit 2.
 */
function wrap<T>(parse: (value: string) => T) {
  return (value: string): T => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError(errorMessage(error));
    }
  };
}

export const durationArg = wrap((value) => parseDuration(value));
export const rateArg = wrap((value): RateSpec => parseRate(value));

export const intArg = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  wrap((value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`expected a whole number from ${min} to ${max}, got '${value}'`);
    }
    return n;
  });

export const portArg = intArg(0, 65535);

export const sizeArg = wrap((value) => parseSize(value));

export const choiceArg = <T extends string>(choices: readonly T[]) =>
  wrap((value): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new Error(`expected one of ${choices.join(', ')}, got '${value}'`);
    }
    return value as T;
  });

/** Accumulates a repeatable flag into an array. */
export function collect<T>(parse: (value: string) => T) {
  return (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), wrap(parse)(value)];
}

export function collectStrings(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds `Examples:` to a command's --help. */
export function withExamples(command: Command, examples: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${examples.map((line) => `  $ ${line}`).join('\n')}\n`);
}

/** Writes a value as JSON on stdout (for --json). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
