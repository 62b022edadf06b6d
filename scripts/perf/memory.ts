import { openSessions } from './load.js';

interface StatusMemory {
  memory: { heapUsed: number; rss: number };
}

async function heapUsed(gatewayUrl: string): Promise<number> {
  const status = (await fetch(gatewayUrl.replace(/\/mcp$/, '/_mcp-scale/status?gc=1')).then((r) =>
    r.json(),
  )) as StatusMemory;
  return status.memory.heapUsed;
}

/**
 * Gateway heap per idle session (no GET stream), and what an open GET
 * stream adds, from the collected heap before and after (the gateway runs
 * with --expose-gc; /_mcp-scale/status?gc=1 collects first).
 */
export async function measureSessionMemory(gatewayUrl: string, sessions: number, streams: number) {
  await openSessions(gatewayUrl, 20); // warm code paths and pools first
  const before = await heapUsed(gatewayUrl);
  const ids = await openSessions(gatewayUrl, sessions);
  const afterSessions = await heapUsed(gatewayUrl);
  // It starts no process, only these GET streams: closed whatever happens.
  const controllers: AbortController[] = [];
  let afterStreams: number;
  try {
    for (const id of ids.slice(0, streams)) {
      const controller = new AbortController();
      controllers.push(controller);
      const response = await fetch(gatewayUrl, {
        headers: { accept: 'text/event-stream', 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
        signal: controller.signal,
      });
      // Keep the stream open; read nothing.
      void response.body
        ?.getReader()
        .read()
        .catch(() => {});
    }
    afterStreams = await heapUsed(gatewayUrl);
  } finally {
    for (const controller of controllers) controller.abort();
  }
  return {
    sessions,
    streams,
    bytesPerIdleSession: (afterSessions - before) / sessions,
    bytesPerOpenGetStream: (afterStreams - afterSessions) / streams,
  };
}
