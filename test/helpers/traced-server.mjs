// A server module (SDK 1.x) whose tool makes its own OpenTelemetry span with
// @opentelemetry/api, as an instrumented user server would: the tracing test
// checks that it nests under the worker's span. `fail` answers isError.
import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

export default function createServer() {
  const server = new McpServer({ name: 'traced', version: '1.0.0' });
  server.registerTool(
    'lookup',
    { inputSchema: { key: z.string() }, annotations: { readOnlyHint: true } },
    async ({ key }) =>
      trace.getTracer('traced-server').startActiveSpan('database query', async (span) => {
        span.setAttribute('db.query.key', key);
        await sleep(5);
        span.end();
        return { content: [{ type: 'text', text: `value of ${key}` }] };
      }),
  );
  server.registerTool('fail', { inputSchema: {} }, async () => ({
    isError: true,
    content: [{ type: 'text', text: 'it failed' }],
  }));
  return server;
}
