import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isProcessAlive, waitForExit } from '../../src/util/process.js';

/**
 * A sessionful MCP server in a child process (bench-child-server.mjs), so a
 * failover test can have the bench kill it by PID. Ready when it prints its
 * port; every session it creates is recorded from its stdout.
 */
export interface ChildServer {
  id: string;
  pid: number;
  port: number;
  url: string;
  sessions: string[];
  close(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./bench-child-server.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function startChildServer(id: string): Promise<ChildServer> {
  const child = spawn(process.execPath, [SCRIPT, id], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('child server did not start');
  const sessions: string[] = [];
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`child server ${id} exited with ${code}`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const message = JSON.parse(line) as { ready?: boolean; port?: number; session?: string };
        if (message.ready && message.port) resolve(message.port);
        if (message.session) sessions.push(message.session);
      }
    });
  });
  return {
    id,
    pid,
    port,
    url: `http://127.0.0.1:${port}/mcp`,
    sessions,
    close: async () => {
      if (!isProcessAlive(pid)) return;
      process.kill(pid, 'SIGTERM');
      if (!(await waitForExit(pid, 5000))) process.kill(pid, 'SIGKILL');
    },
  };
}
