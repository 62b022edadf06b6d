// A sessionful SDK 1.x MCP server in its own process, for the bench failover
// test (the bench kills it by PID). Usage: node bench-child-server.mjs <instanceId>
// Prints {"ready":true,"port":N} once listening and {"session":"<id>"} for every
// session it creates, so the test knows the ground truth after the kill.
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const instanceId = process.argv[2] ?? 'child';
const sessions = new Map();

function buildServer() {
  const server = new McpServer({ name: `bench-child-${instanceId}`, version: '1.0.0' });
  const text = (value) => ({ content: [{ type: 'text', text: JSON.stringify(value) }] });
  server.registerTool('get_product', { inputSchema: { id: z.string() } }, ({ id }) => text({ id }));
  server.registerTool('get_inventory', { inputSchema: { id: z.string() } }, ({ id }) =>
    text({ id, stock: 1 }),
  );
  server.registerTool(
    'search_products',
    { inputSchema: { query: z.string(), limit: z.number().optional() } },
    (a) => text(a),
  );
  server.registerTool('update_inventory', { inputSchema: { id: z.string(), delta: z.number() } }, (a) =>
    text(a),
  );
  server.registerTool('get_user', {}, () => text({ user: 'anonymous' }));
  return server;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks).toString('utf8');
  return body ? JSON.parse(body) : undefined;
}

const server = http.createServer(async (req, res) => {
  res.setHeader('Mcp-Scale-Instance', instanceId);
  const body = req.method === 'POST' ? await readBody(req) : undefined;
  const sessionId = req.headers['mcp-session-id'];
  const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
  if (existing) return existing.handleRequest(req, res, body);
  if (typeof sessionId === 'string' || body?.method !== 'initialize') {
    res.writeHead(404, { 'content-type': 'application/json' });
    return res.end(
      JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }),
    );
  }
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => `${instanceId}.${randomUUID()}`,
    onsessioninitialized: (id) => {
      sessions.set(id, transport);
      process.stdout.write(`${JSON.stringify({ session: id })}\n`);
    },
  });
  await buildServer().connect(transport);
  await transport.handleRequest(req, res, body);
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port })}\n`);
});
