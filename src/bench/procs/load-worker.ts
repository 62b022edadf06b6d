import { parentPort, workerData } from 'node:worker_threads';
import { BenchEngine } from '../engine.js';
import type { BenchOptions, BenchTarget } from '../types.js';
import type { FromWorker, ToWorker } from './messages.js';

/**
 * One load process of `--procs N`: a worker thread running a BenchEngine
 * on its slice of the users. It forwards ticks and log lines, stops when
 * told, and sends its full report (with encoded histograms) at the end.
 */
interface WorkerInput {
  options: BenchOptions;
  target: BenchTarget;
}

const port = parentPort;
if (!port) throw new Error('load-worker runs as a worker thread of `mcp-scale bench --procs`');
const { options, target } = workerData as WorkerInput;
const engine = new BenchEngine(options, target);
const send = (message: FromWorker): void => port.postMessage(message);
engine.on('tick', (tick) => send({ type: 'tick', tick }));
engine.on('log', (line) => send({ type: 'log', line }));
port.on('message', (message: ToWorker) => {
  if (message.type === 'stop') engine.stop();
});
engine.run().then(
  (report) => {
    send({ type: 'done', report });
    port.close();
  },
  (error: unknown) => {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    port.close();
  },
);
