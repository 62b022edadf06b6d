import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { findFreePort } from '../../src/util/net.js';
import { stopChild } from './teardown.js';

/**
 * A reference for the gateway's CPU per call: the least a Node.js proxy can
 * do with the same parts (node:http in front, an undici Pool behind, the
 * body relayed as it comes) and none of the gateway's work (no parsing,
 * sessions, identity, limits or metrics). bench:perf runs it beside nginx,
 * so "gateway / bare" is the gateway's own logic and "bare / nginx" is the
 * price of the runtime. Development tooling only; never shipped.
 *
 *   node dist-dev/scripts/perf/bare-proxy.js PORT WORKER_URL   (prints "ready")
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length']);

export function startBareProxy(port: number, target: string): http.Server {
  const url = new URL(target);
  const pool = new Pool(url.origin, { connections: 128 });
  return http
    .createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          const name = req.rawHeaders[i]!.toLowerCase();
          if (!HOP_BY_HOP.has(name)) headers[name] = req.rawHeaders[i + 1]!;
        }
        pool
          .request({ path: url.pathname, method: req.method as 'POST', headers, body: Buffer.concat(chunks) })
          .then(
            (upstream) => {
              const out: Record<string, string | string[]> = {};
              for (const [name, value] of Object.entries(upstream.headers))
                if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
              res.writeHead(upstream.statusCode, out);
              upstream.body.on('data', (chunk: Buffer) => res.write(chunk));
              upstream.body.on('end', () => res.end());
              upstream.body.on('error', () => res.destroy());
            },
            () => {
              res.writeHead(502);
              res.end();
            },
          );
      });
    })
    .listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
}

/** The bare proxy in its own process (so its CPU is its own), in front of `workerUrl`. */
export async function spawnBareProxy(
  workerUrl: string,
): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await findFreePort();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), String(port), workerUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // A proxy that dies before it is ready (a port taken meanwhile) fails the start instead of hanging it.
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the bare proxy exited (${code}) before it was ready`)));
  });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    pid: child.pid ?? 0,
    stop: () => stopChild(child),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [port, target] = process.argv.slice(2);
  if (!port || !target) {
    process.stderr.write('usage: bare-proxy.js PORT WORKER_URL\n');
    process.exit(2);
  }
  startBareProxy(Number(port), target);
}
