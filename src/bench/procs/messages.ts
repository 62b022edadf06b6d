import type { BenchTickEvent } from '../engine.js';
import type { BenchReport } from '../report-schema.js';

/** What a load worker thread and the parent bench say to each other. */
export type FromWorker =
  | { type: 'tick'; tick: BenchTickEvent }
  | { type: 'log'; line: string }
  | { type: 'done'; report: BenchReport }
  | { type: 'error'; message: string };

export type ToWorker = { type: 'stop' };
