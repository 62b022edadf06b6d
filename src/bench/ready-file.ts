import fs from 'node:fs';
import { z } from 'zod';
import { UserError } from '../errors.js';
import type { ReadyInfo } from './types.js';

/**
 * The ready file `mcp-scale serve --ready-file FILE` writes once the cluster
 * answers: `{ "url": "...", "instances": [{ "id": "w1", "pid": 123, "port": 9001 }] }`.
 * Extra keys are allowed so the supervisor can add more without breaking bench.
 */
const processSchema = z.object({
  id: z.string().min(1),
  pid: z.number().int().positive(),
  port: z.number().int().nonnegative(),
});
const readyInfoSchema = z.object({
  url: z.string().url(),
  instances: z.array(processSchema),
  gateways: z.array(processSchema).optional(),
  redis: z
    .object({
      mode: z.string().optional(),
      pid: z.number().int().positive().optional(),
      primary: z.object({ pid: z.number().int().positive(), port: z.number().int() }).optional(),
      replica: z.object({ pid: z.number().int().positive(), port: z.number().int() }).optional(),
    })
    .optional(),
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
  const { url, instances, gateways, redis } = parsed.data;
  const process = ({ id, pid, port }: z.infer<typeof processSchema>) => ({ id, pid, port });
  return {
    url,
    instances: instances.map(process),
    ...(gateways ? { gateways: gateways.map(process) } : {}),
    ...(redis
      ? {
          redis: {
            ...(redis.mode ? { mode: redis.mode } : {}),
            ...(redis.pid ? { pid: redis.pid } : {}),
            ...(redis.primary ? { primary: { pid: redis.primary.pid, port: redis.primary.port } } : {}),
            ...(redis.replica ? { replica: { pid: redis.replica.pid, port: redis.replica.port } } : {}),
          },
        }
      : {}),
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
