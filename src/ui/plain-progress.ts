import type { BenchStartEvent, BenchTickEvent } from '../bench/engine.js';
import { describeStart, plainLine, viewModel, type BenchEventSource } from './bench-view-model.js';

/**
 * Progress for logs and CI (no TTY): the start line, one line every
 * `everyMs`, and scenario log lines as they happen.
 */
export function attachPlainProgress(
  engine: BenchEventSource,
  write: (line: string) => void,
  everyMs = 2000,
): { close(): void } {
  let start: BenchStartEvent | undefined;
  let lastPrinted = Number.NEGATIVE_INFINITY;
  const onStart = (event: BenchStartEvent) => {
    start = event;
    write(describeStart(event));
  };
  const onTick = (tick: BenchTickEvent) => {
    if (tick.elapsedMs - lastPrinted < everyMs - 50) return;
    lastPrinted = tick.elapsedMs;
    write(plainLine(viewModel(start, tick)));
  };
  const onLog = (line: string) => write(line);
  engine.on('start', onStart);
  engine.on('tick', onTick);
  engine.on('log', onLog);
  return {
    close: () => {
      engine.off('start', onStart);
      engine.off('tick', onTick);
      engine.off('log', onLog);
    },
  };
}
