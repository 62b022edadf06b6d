import fs from 'node:fs';
import { z } from 'zod';
import { UserError } from '../../errors.js';
import type { Step } from '../types.js';
import type { Scenario, VuView } from './scenario.js';

/**
 * `--script FILE`: a user's own sequence of calls. Each virtual user walks
 * the steps in order and starts over at the end; one step is one iteration.
 *
 *   {
 *     "era": "2025",                               (optional: 2025 | 2026 | mixed)
 *     "steps": [
 *       { "method": "tools/list" },
 *       { "method": "ping" },
 *       { "tool": "get_product", "args": { "id": "{{random:1:100}}" } },
 *       { "tool": "generate_report", "args": { "seconds": 1 }, "progress": true }
 *     ]
 *   }
 *
 * String values in args may use `{{vu}}`, `{{iteration}}` and
 * `{{random:MIN:MAX}}` (a whole number) and stay strings; wrap one in
 * `{ "$number": "{{random:1:5}}" }` to send a number instead.
 */
const stepSchema = z.union([
  z.object({ method: z.enum(['tools/list', 'ping']) }).strict(),
  z
    .object({
      tool: z.string().min(1),
      args: z.record(z.string(), z.unknown()).optional(),
      progress: z.boolean().optional(),
    })
    .strict(),
]);

export const scriptSchema = z
  .object({
    description: z.string().optional(),
    era: z.enum(['2025', '2026', 'mixed']).optional(),
    steps: z.array(stepSchema).min(1),
  })
  .strict();

export type BenchScript = z.infer<typeof scriptSchema>;

export function readScript(file: string): BenchScript {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'not valid JSON';
    throw new UserError(`cannot read script ${file}: ${reason}`);
  }
  const parsed = scriptSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`script ${file}: ${issue?.path.join('.') || 'file'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export function createScriptScenario(file: string, script: BenchScript): Scenario {
  const steps = script.steps;
  return {
    name: 'script',
    nextStep: (vu: VuView): Step => {
      const step = steps[vu.iteration % steps.length];
      if (!step) return { method: 'ping' };
      if ('method' in step) return { method: step.method };
      return {
        method: 'tools/call',
        tool: step.tool,
        args: expand(step.args ?? {}, vu) as Record<string, unknown>,
        ...(step.progress ? { progress: true } : {}),
      };
    },
    summary: () => ({ name: 'script', file, steps: steps.length, checks: [] }),
  };
}

const TEMPLATE = /\{\{\s*(vu|iteration|random:(-?\d+):(-?\d+))\s*\}\}/g;

function expand(value: unknown, vu: VuView): unknown {
  if (typeof value === 'string') {
    return value.replace(TEMPLATE, (_match, name: string, min?: string, max?: string) => {
      if (name === 'vu') return String(vu.index);
      if (name === 'iteration') return String(vu.iteration);
      const low = Number(min);
      const high = Number(max);
      return String(low + Math.floor(vu.random() * (high - low + 1)));
    });
  }
  if (Array.isArray(value)) return value.map((item) => expand(item, vu));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    const only = entries.length === 1 ? entries[0] : undefined;
    if (only && only[0] === '$number') return Number(expand(only[1], vu));
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expand(item, vu)]));
  }
  return value;
}
