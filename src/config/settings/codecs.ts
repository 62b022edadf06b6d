import { z } from 'zod';
import { formatDuration, parseDuration } from '../duration.js';
import { formatRate, parseRate, type RateSpec } from '../rate.js';
import { parseSize } from '../size.js';
import type { Codec } from './types.js';

/**
 * The value syntaxes settings use. Each parses what a flag, an environment
 * variable or a config file gives (a file may use numbers, arrays and
 * objects; the others give strings) with a zod schema, and formats the typed
 * value back to argv strings for a child process, so a value survives the
 * trip supervisor → child unchanged.
 */

/** Runs a zod schema; its first issue becomes the error message. */
function parseWith<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new Error(result.error.issues[0]?.message ?? 'invalid value');
}

/** A zod transform that turns a thrown Error into an issue. */
function tryParse<I, T>(parse: (input: I) => T) {
  return (input: I, ctx: z.RefinementCtx): T => {
    try {
      return parse(input);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  };
}

const scalar = z.union([z.string(), z.number()], { error: 'expected a string or a number' });

function codec<T>(spec: Omit<Codec<T>, 'parse'> & { schema: z.ZodType<T> }): Codec<T> {
  const { schema, ...rest } = spec;
  return { ...rest, parse: (input) => parseWith(schema, input) };
}

export function text(placeholder: string, form = 'a non-empty string'): Codec<string> {
  return codec({
    form,
    placeholder,
    schema: scalar.transform(String).pipe(z.string().trim().min(1, { error: 'expected a non-empty value' })),
    format: (v) => [v],
    show: (v) => v,
  });
}

export function integer(placeholder: string, min: number, max: number): Codec<number> {
  const form = `a whole number from ${min} to ${max}`;
  return codec({
    form,
    placeholder,
    schema: scalar.transform(
      tryParse((v) => {
        const n = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
        if (!Number.isInteger(n) || n < min || n > max)
          throw new Error(`expected ${form}, got ${JSON.stringify(v)}`);
        return n;
      }),
    ),
    format: (v) => [String(v)],
    show: String,
  });
}

/** A number above min and at most max (ratios, rates per second); `form` says it in words. */
export function decimal(placeholder: string, min: number, max: number, form: string): Codec<number> {
  return codec({
    form,
    placeholder,
    schema: scalar.transform(
      tryParse((v) => {
        const n = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
        if (!Number.isFinite(n) || n <= min || n > max)
          throw new Error(`expected ${form}, got ${JSON.stringify(v)}`);
        return n;
      }),
    ),
    format: (v) => [String(v)],
    show: String,
  });
}

export function oneOf<T extends string>(choices: readonly T[]): Codec<T> {
  const form = `one of ${choices.join(', ')}`;
  return codec({
    form,
    placeholder: 'mode',
    schema: z.enum(choices as unknown as [T, ...T[]], {
      error: (issue) => `expected ${form}, got ${JSON.stringify(issue.input)}`,
    }) as unknown as z.ZodType<T>,
    format: (v) => [v],
    show: (v) => v,
    choices,
  });
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off', ''];
export const flagSwitch: Codec<boolean> = codec({
  form: 'true or false',
  placeholder: undefined,
  schema: z.union([z.boolean(), z.string(), z.number()]).transform(
    tryParse((v) => {
      if (typeof v === 'boolean') return v;
      const s = String(v).trim().toLowerCase();
      if (TRUE.includes(s)) return true;
      if (FALSE.includes(s)) return false;
      throw new Error(`expected true or false, got ${JSON.stringify(v)}`);
    }),
  ),
  format: (v) => (v ? [''] : []),
  show: String,
});

export const duration: Codec<number> = codec({
  form: 'a duration such as 500ms, 30s, 5m or 1h (a bare number is seconds)',
  placeholder: 'duration',
  schema: scalar.transform(tryParse((v) => parseDuration(v))),
  format: (v) => [formatDuration(v)],
  show: formatDuration,
});

function showSize(bytes: number): string {
  if (bytes > 0 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}mb`;
  if (bytes > 0 && bytes % 1024 === 0) return `${bytes / 1024}kb`;
  return String(bytes);
}

export const size: Codec<number> = codec({
  form: 'a size such as 4mb, 512kb or a number of bytes',
  placeholder: 'size',
  schema: scalar.transform(tryParse((v) => parseSize(v))),
  format: (v) => [showSize(v)],
  show: showSize,
});

const rateObject = z.object({ points: z.number().int().positive(), durationMs: z.number().positive() });
const rateSchema = z.unknown().transform(
  tryParse((v): RateSpec => {
    if (typeof v === 'string') return parseRate(v);
    const parsed = rateObject.safeParse(v);
    if (parsed.success) return parsed.data;
    throw new Error(`expected a rate POINTS/DURATION such as 60/1m, got ${JSON.stringify(v)}`);
  }),
);
export const rate: Codec<RateSpec> = codec({
  form: 'a rate POINTS/DURATION such as 60/1m',
  placeholder: 'rate',
  schema: rateSchema,
  format: (v) => [formatRate(v)],
  show: formatRate,
});

/** Comma-separated in a flag or env variable; an array in a file; repeatable flags add up. */
export function list(placeholder: string, repeatable = true): Codec<string[]> {
  return codec({
    form: 'a list of values (comma-separated, or an array in a file)',
    placeholder,
    schema: z.union([z.array(scalar), scalar]).transform((v) =>
      (Array.isArray(v) ? v : [v])
        .flatMap((item) => String(item).split(','))
        .map((s) => s.trim())
        .filter(Boolean),
    ),
    format: (v) => (repeatable ? v : v.length ? [v.join(',')] : []),
    show: (v) => (v.length ? v.join(',') : '-'),
    repeatable,
  });
}

/**
 * `NAME=VALUE` pairs: repeatable flags, a comma-separated env variable, or an
 * object `{ "NAME": VALUE }` in a file. Sources merge, later ones winning per name.
 */
export function mapOf<T>(placeholder: string, value: Codec<T>): Codec<Record<string, T>> {
  const pair = (textValue: string): [string, unknown] => {
    const i = textValue.indexOf('=');
    if (i <= 0) throw new Error(`expected NAME=VALUE, got '${textValue}'`);
    return [textValue.slice(0, i).trim(), textValue.slice(i + 1).trim()];
  };
  const parse = (input: unknown): Record<string, T> => {
    let entries: [string, unknown][];
    if (typeof input === 'string')
      entries = input
        .split(',')
        .filter((s) => s.trim())
        .map(pair);
    else if (Array.isArray(input))
      entries = input
        .flatMap((item) =>
          String(item)
            .split(',')
            .filter((s) => s.trim()),
        )
        .map(pair);
    else if (input && typeof input === 'object') entries = Object.entries(input);
    else throw new Error(`expected NAME=VALUE pairs or an object, got ${JSON.stringify(input)}`);
    return Object.fromEntries(
      entries.map(([name, raw]) => {
        try {
          return [name, value.parse(raw)];
        } catch (error) {
          throw new Error(`${name}: ${(error as Error).message}`);
        }
      }),
    );
  };
  return {
    form: `NAME=VALUE pairs (repeatable flag, comma-separated env, or an object in a file), each VALUE ${value.form}`,
    placeholder,
    parse,
    format: (v) => Object.entries(v).map(([name, item]) => `${name}=${value.format(item)[0] ?? ''}`),
    show: (v) =>
      Object.keys(v).length
        ? Object.entries(v)
            .map(([name, item]) => `${name}=${value.show(item)}`)
            .join(',')
        : '-',
    merge: (base, over) => ({ ...base, ...over }),
    repeatable: true,
  };
}
