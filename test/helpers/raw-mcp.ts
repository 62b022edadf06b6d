/** Raw 2025-era Streamable HTTP exchanges, for tests that need thousands of sessions or exact statuses. */
const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

export interface RawReply {
  status: number;
  headers: Headers;
  /** JSON-RPC messages of the body (JSON or SSE). */
  messages: { id?: unknown; result?: unknown; error?: { code: number; message: string } }[];
}

async function reply(response: Response): Promise<RawReply> {
  const text = await response.text();
  const messages = !text
    ? []
    : text.includes('data:')
      ? text
          .split('\n')
          .filter((line) => line.startsWith('data:') && line.slice(5).trim())
          .map((line) => JSON.parse(line.slice(5)))
      : [JSON.parse(text)].flat();
  return { status: response.status, headers: response.headers, messages };
}

export async function rawInitialize(
  url: string,
  clientInfo: Record<string, unknown> = { name: 'raw-test', version: '1' },
  headers: Record<string, string> = {},
): Promise<RawReply & { sessionId: string | null }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...HEADERS, ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo },
    }),
  });
  const sessionId = response.headers.get('mcp-session-id');
  return { ...(await reply(response)), sessionId };
}

export async function rawRequest(
  url: string,
  sessionId: string,
  method: string,
  params: Record<string, unknown> = {},
  id = 1,
): Promise<RawReply> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': sessionId },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  });
  return reply(response);
}

/** Opens the session's GET stream and keeps it open; resolves once the headers arrived. */
export async function openGetStream(
  url: string,
  sessionId: string,
): Promise<{ status: number; ended: () => boolean; close: () => void }> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: {
      accept: 'text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
    },
    signal: controller.signal,
  });
  let ended = false;
  void (async () => {
    try {
      const reader = response.body!.getReader();
      while (!(await reader.read()).done);
    } catch {
      // aborted by close()
    }
    ended = true;
  })();
  return { status: response.status, ended: () => ended, close: () => controller.abort() };
}

/** Runs `task` for 0..count-1 with at most `concurrency` at a time. */
export async function inParallel<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await task(index);
      }
    }),
  );
  return results;
}
