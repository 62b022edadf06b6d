import { Option, type Command } from 'commander';
import type { BenchFlags } from '../../bench/options.js';
import type { ClusterStarter } from '../../bench/spawn.js';
import { addSettingOptions, configFileOption, settingInputs } from '../setting-options.js';
import { collectStrings, durationArg, intArg, rateArg, withExamples } from '../options.js';

/** `mcp-scale bench`: commander wiring only; the engine is src/bench/. */
export function registerBenchCommand(program: Command): void {
  const command = program
    .command('bench')
    .description('Load-test an MCP endpoint with real 2025 and 2026 clients and report what broke')
    .argument('[url]', 'MCP endpoint (default http://127.0.0.1:8080/mcp, or the ready file url)')
    .addOption(
      new Option(
        '--scenario <name>',
        'mixed | affinity | ratelimit | cache | failover | raw (default mixed)',
      ).choices(['mixed', 'affinity', 'ratelimit', 'cache', 'failover', 'raw']),
    )
    .option('--script <file>', 'run your own JSON sequence of calls (see docs/bench.md)')
    .addOption(
      new Option('--era <era>', 'client era: 2025 | 2026 | mixed').choices(['2025', '2026', 'mixed']),
    )
    .addOption(
      new Option(
        '--client <kind>',
        "virtual users' client: sdk (the MCP SDKs) or lean (wire-level, cheaper)",
      ).choices(['sdk', 'lean']),
    )
    .option('--mix <shares>', 'share of users per era, e.g. 2025=70,2026=30')
    .option(
      '--clients <n>',
      'closed model: concurrent users (default 10; raw: connections)',
      intArg(1, 100_000),
    )
    .option('--rate <rate>', 'open model: arrivals per second, e.g. 200/s')
    .option('--ramp <stages>', 'open model: arrival-rate stages, e.g. 0-200/s:30s,hold:60s')
    .option('--stages <stages>', 'closed model: user stages, same syntax, e.g. 0-500:30s,hold:2m,500-0:10s')
    .option('--ramp-up <duration>', 'closed model: start the --clients spread over this long', durationArg)
    .option('--max-clients <n>', 'open model: most users in the pool (default 100)', intArg(1, 100_000))
    .option(
      '--pre-allocate <n>',
      'open model: users connected before arrivals start (default 10)',
      intArg(0, 100_000),
    )
    .option('--duration <duration>', 'how long to run (default 10s)', durationArg)
    .option(
      '--procs <n>',
      'split the users across N load processes (threads), or auto = cores - 1 (default 1)',
    )
    .option('--iterations <n>', 'stop after this many requests in total', intArg(1))
    .option('--think <duration>', 'closed model: pause between calls, e.g. 100ms or 50ms-200ms')
    .option('--timeout <duration>', 'per-request timeout (default 30s)', durationArg)
    .option(
      '--graceful-stop <duration>',
      'let running requests finish this long at the end (default 5s)',
      durationArg,
    )
    .option('--no-reinit-on-404', 'keep a lost session instead of opening a new one on 404')
    .option('--session-per-call', 'open (and delete) a new 2025 session for every call')
    .option('--ignore-retry-after', 'do not wait Retry-After after a 429')
    .option('--expect-limit <rate>', 'ratelimit: the limit the server should enforce, e.g. 60/1m', rateArg)
    .option('--tool <name>', 'ratelimit/cache/raw: call this tool')
    .option('--args <json>', 'arguments for --tool, a JSON object')
    .option('--header <header>', "extra request header, 'Name: value' (repeatable)", collectStrings)
    .option('--seed <n>', 'seed for the scenario choices (default 1)', intArg(0, 2 ** 31))
    .option('--ready-file <file>', 'the ready file of a local `mcp-scale serve` (target url and worker PIDs)')
    .option('--spawn', 'start a local cluster with the serve settings below, bench it, stop it')
    .addOption(
      new Option(
        '--kill <tier>',
        'failover: kill a worker, a gateway or the Redis primary (default worker)',
      ).choices(['worker', 'gateway', 'redis']),
    )
    .option(
      '--kill-at <duration>',
      "failover: when to kill (default half the run, or --kill-every); the first kill waits for every client's first answer",
      durationArg,
    )
    .option('--kill-every <duration>', 'failover: kill again this often until the load ends', durationArg)
    .option(
      '--kill-instance <id>',
      'failover: which worker or gateway to kill (default the busiest worker; gateways in turn)',
    )
    .option('--find-capacity', 'step the arrival rate up until p99 crosses --p99; report calls/s per worker')
    .option('--p99 <duration>', 'find-capacity: p99 target, e.g. 250ms', durationArg)
    .option('--start-rate <rate>', 'find-capacity: first step (default 10/s)')
    .option('--max-rate <rate>', 'find-capacity: highest step (default 10000/s)')
    .option('--step-duration <duration>', 'find-capacity: length of each step (default 10s)', durationArg)
    .option('--threshold <expr>', 'fail (exit 99) unless true, e.g. "p99<250ms" (repeatable)', collectStrings)
    .option('--json', 'print the report as JSON instead of the table')
    .option('--out <file>', 'write the report JSON (schemas/bench-report.schema.json)')
    .option('--html <file>', 'write a self-contained HTML report with charts')
    .action(async (url: string | undefined, flags: BenchFlags & Record<string, unknown>) => {
      const { runBenchCommand } = await import('../../bench/run-command.js');
      await runBenchCommand(
        { ...flags, ...(url ? { url } : {}) },
        {
          stdout: process.stdout,
          stderr: process.stderr,
          // serve's settings, for --spawn.
          clusterSettings: settingInputs(flags, 'serve'),
          configFile: configFileOption(flags),
          // Loaded only when a cluster is really started, after the flags were checked.
          startCluster: async (request) => (await loadClusterStarter(Boolean(flags.json)))(request),
        },
      );
    });
  // With --spawn, the cluster takes serve's settings (the same flags, the same meaning).
  addSettingOptions(command, 'serve');
  command.enablePositionalOptions();
  registerMergeCommand(command);
  withExamples(command, [
    'mcp-scale bench http://127.0.0.1:8080/mcp --clients 20 --duration 30s',
    'mcp-scale bench --rate 200/s --duration 1m --era mixed --mix 2025=70,2026=30',
    'mcp-scale bench --ramp 0-200/s:30s,hold:60s --max-clients 300 --html report.html',
    'mcp-scale bench --scenario ratelimit --expect-limit 60/1m --json',
    'mcp-scale bench --scenario failover --ready-file .mcp-scale/ready.json',
    'mcp-scale bench --scenario failover --kill gateway --kill-every 5s --duration 30s --ready-file ready.json',
    'mcp-scale bench --scenario raw --clients 50 --duration 10s',
    'mcp-scale bench --clients 500 --ramp-up 30s --duration 2m --procs auto',
    'mcp-scale bench --stages 0-500:30s,hold:2m,500-0:10s --think 500ms-1500ms --threshold "achieved>95%"',
    'mcp-scale bench --script calls.json --threshold "p99<250ms" --threshold "errors<0.1%"',
    'mcp-scale bench --spawn --instances 3 --find-capacity --p99 250ms --out capacity.json',
  ]);
}

/** The supervisor's starter for --spawn: serve's cluster, without a state file, stopped after the run. */
async function loadClusterStarter(json: boolean): Promise<ClusterStarter> {
  const { startCluster } = await import('../../cluster/supervisor.js');
  return async ({ config }) => {
    const quiet = json || process.stdout.isTTY;
    const cluster = await startCluster({
      config,
      writeState: false,
      log: (line) => {
        if (!quiet) process.stderr.write(`${line}\n`);
      },
    });
    return {
      url: cluster.url,
      readyInfo: cluster.info(),
      currentReadyInfo: () => cluster.info(),
      close: () => cluster.close(),
    };
  };
}

/** `mcp-scale bench merge`: reports of many load processes or machines as one. */
function registerMergeCommand(bench: Command): void {
  const merge = bench
    .command('merge')
    .description('Merge bench reports (--out files) of runs that loaded the same target together, exactly')
    .argument('<reports...>', 'report files written by `mcp-scale bench --out`')
    .option('--json', 'print the merged report as JSON instead of the table')
    .option('--out <file>', 'write the merged report JSON')
    .option('--html <file>', 'write the merged HTML report')
    .option(
      '--threshold <expr>',
      'fail (exit 99) unless true on the merged report (repeatable)',
      collectStrings,
    )
    .action(
      async (
        files: string[],
        flags: { json?: boolean; out?: string; html?: string; threshold?: string[] },
      ) => {
        const { runBenchMerge } = await import('../../bench/merge/merge-command.js');
        runBenchMerge(files, flags, { stdout: process.stdout });
      },
    );
  withExamples(merge, [
    'mcp-scale bench merge pod-0.json pod-1.json pod-2.json --html merged.html',
    'mcp-scale bench merge reports/*.json --json --threshold "p99<250ms" --threshold "achieved>95%"',
  ]);
}
