import fs from 'node:fs';
import { z } from 'zod';
import { UserError } from '../errors.js';
import type { ReadyInfo } from './types.js';

/**
 * The ready file `mcp-scale serve --ready-file FILE` writes once the cluster
 * answers: `{ "url": "...", "instances": [{ "id": "w1", "pid": 123, "port": 9001 }] }`.
 * Extra keys are allowed so the supervisor can add more without breaking bench.
 */
const readyInfoSchema = z.object({
  url: z.string().url(),
  instances: z.array(
    z.object({
      id: z.string().min(1),
      pid: z.number().int().positive(),
      port: z.number().int().nonnegative(),
    }),
  ),
});

export function parseReadyInfo(value: unknown, source: string): ReadyInfo {
  const parsed = readyInfoSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'file';
    throw new UserError(
      `ready file ${source} is not {url, instances:[{id,pid,port}]}: ${where}: ${issue?.message}`,
    );
  }
  return {
    url: parsed.data.url,
    instances: parsed.data.instances.map(({ id, pid, port }) => ({ id, pid, port })),
  };
}

export function readReadyFile(file: string): ReadyInfo {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(
      `cannot read ready file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`ready file ${file} is not valid JSON`);
  }
  return parseReadyInfo(value, file);
}
