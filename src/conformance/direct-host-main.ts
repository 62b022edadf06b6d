/**
 * Process entry for the direct harness (conformance target (a)):
 *
 *   node dist/conformance/direct-host-main.js --server dist/examples/conformance-server.js \
 *     [--port 0] [--host 127.0.0.1] [--ready-file FILE] [--allow-any-host]
 *
 * Writes `{url, instances:[{id,pid,port}]}` to the ready file once it
 * listens (the shape `serve --ready-file` writes), and stops on SIGTERM/SIGINT.
 */
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startDirectHost } from './direct-host.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      server: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      'ready-file': { type: 'string' },
      // Disables the DNS-rebinding checks: only to show that the suite catches it.
      'allow-any-host': { type: 'boolean', default: false },
    },
  });
  if (!values.server) throw new Error('--server <module.js> is required');
  const host = await startDirectHost({
    server: values.server,
    host: values.host,
    port: Number(values.port),
    allowAnyHost: values['allow-any-host'],
  });
  const ready = { url: host.url, instances: [{ id: 'direct', pid: process.pid, port: host.port }] };
  if (values['ready-file']) {
    // Write then rename, so a watcher never reads half a file.
    const partial = `${values['ready-file']}.partial`;
    await fs.writeFile(partial, JSON.stringify(ready));
    await fs.rename(partial, values['ready-file']);
  }
  console.log(`conformance direct host listening on ${host.url}`);
  const stop = () => void host.close();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
