import { Box, render, Text } from 'ink';
import { useEffect, useState } from 'react';
import type { BenchStartEvent, BenchTickEvent } from '../bench/engine.js';
import { progressBar, viewModel, type BenchEventSource, type BenchViewModel } from './bench-view-model.js';

/**
 * The live bench dashboard on a TTY. It subscribes to the engine's events
 * and renders; it never sends a request or reads a response itself.
 */
export function DashboardView({ model, logs }: { model: BenchViewModel | undefined; logs: string[] }) {
  if (!model) return <Text>mcp-scale bench: starting...</Text>;
  const left = model.leftS === undefined ? '' : `  ${model.leftS.toFixed(1)}s left`;
  const planned = model.plannedS === undefined ? '' : ` / ${model.plannedS.toFixed(1)}s`;
  const widest = Math.max(1, ...model.instances.map((i) => i.count));
  const target =
    model.targetRatePerSecond === undefined ? '' : ` (target ${model.targetRatePerSecond.toFixed(1)}/s)`;
  const lastP99 =
    model.lastSecondP99 === undefined ? '' : `   (last second p99 ${model.lastSecondP99.toFixed(2)}ms)`;
  return (
    <Box flexDirection="column">
      <Text bold>{model.title}</Text>
      <Text>{`${progressBar(model.progress)} ${Math.round(model.progress * 100)}% ${model.elapsedS.toFixed(1)}s${planned}${left}`}</Text>
      <Text>
        {`rate ${model.ratePerSecond}/s${target}   requests ${model.requests}   iterations ${model.iterations}   users ${model.virtualUsers}   dropped ${model.dropped}`}
      </Text>
      <Text>{`latency p50 ${model.p50.toFixed(2)}ms   p99 ${model.p99.toFixed(2)}ms${lastP99}`}</Text>
      <Text color={model.errors > 0 ? 'red' : undefined}>
        {`errors ${model.errors} (${(model.errorRate * 100).toFixed(2)}%)   429s ${model.limited}   sessions opened ${model.sessionsOpened}   lost ${model.sessionsLost}`}
      </Text>
      {model.instances.map((instance) => (
        <Text key={instance.id}>
          {`${instance.id.padEnd(12)} ${'#'.repeat(Math.max(1, Math.round((instance.count / widest) * 30)))} ${instance.count} (${(instance.share * 100).toFixed(1)}%)`}
        </Text>
      ))}
      {logs.map((line, index) => (
        <Text key={index} color="yellow">
          {line}
        </Text>
      ))}
    </Box>
  );
}

function Dashboard({ engine }: { engine: BenchEventSource }) {
  const [start, setStart] = useState<BenchStartEvent | undefined>();
  const [tick, setTick] = useState<BenchTickEvent | undefined>();
  const [logs, setLogs] = useState<string[]>([]);
  useEffect(() => {
    const onStart = (event: BenchStartEvent) => setStart(event);
    const onTick = (event: BenchTickEvent) => setTick(event);
    const onLog = (line: string) => setLogs((previous) => [...previous.slice(-4), line]);
    engine.on('start', onStart);
    engine.on('tick', onTick);
    engine.on('log', onLog);
    return () => {
      engine.off('start', onStart);
      engine.off('tick', onTick);
      engine.off('log', onLog);
    };
  }, [engine]);
  return <DashboardView model={tick ? viewModel(start, tick) : undefined} logs={logs} />;
}

/** Mounts the dashboard; `close()` unmounts it (safe to call twice). */
export function mountDashboard(engine: BenchEventSource, stdout: NodeJS.WriteStream): { close(): void } {
  const instance = render(<Dashboard engine={engine} />, { stdout, exitOnCtrlC: false, patchConsole: false });
  let closed = false;
  return {
    close: () => {
      if (closed) return;
      closed = true;
      instance.unmount();
    },
  };
}
