import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { errorMessage, exitCodeFor, ThresholdError, UserError } from '../errors.js';
import { registerCommands } from './commands/index.js';

/**
 * Builds the commander program. Every command lives in its own file under
 * commands/ and lazy-imports its subsystem, so `mcp-scale --help` stays fast.
 */
export function buildProgram(): Command {
  const program = new Command('mcp-scale')
    .description(
      'Run MCP servers at scale: gateway, workers, Redis sessions, limits, cache, LB configs, load tests.',
    )
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: false, sortSubcommands: false })
    // A command's options end at its subcommand (`bench --json` vs `bench merge --json`).
    .enablePositionalOptions();
  registerCommands(program);
  applyErrorPolicy(program);
  return program;
}

/** Bad flags print one line and exit 2, on every subcommand. */
function applyErrorPolicy(command: Command): void {
  command.exitOverride();
  command.configureOutput({
    outputError: (text, write) => write(`${text.trim().split('\n')[0]}\n`),
  });
  for (const sub of command.commands) applyErrorPolicy(sub);
}

export async function main(argv: string[]): Promise<void> {
  quietOnClosedPipe();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = handleError(error);
  }
}

let pipeGuarded = false;
/** `mcp-scale … | head`: a closed pipe is the reader saying "enough", not an error. */
function quietOnClosedPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

function handleError(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version "fail" with exit code 0; real parse errors were already printed.
    if (error.exitCode === 0) return 0;
    return 2;
  }
  if (error instanceof ThresholdError) {
    for (const line of error.failures) process.stderr.write(`threshold failed: ${line}\n`);
    return error.exitCode;
  }
  if (error instanceof UserError) {
    process.stderr.write(`mcp-scale: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`mcp-scale: ${errorMessage(error)}\n`);
  if (process.env.MCP_SCALE_DEBUG && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
  return exitCodeFor(error);
}

/** mcp-scale's own package.json (two levels above src/cli and dist/cli), never the caller's npm_package_version. */
export function packageVersion(): string {
  const file = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}
