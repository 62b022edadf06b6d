/**
 * An MCP server that implements the contract of the official conformance
 * suite (`@modelcontextprotocol/conformance`, server scenarios): the tools,
 * resources, prompts, completion and logging behaviour each scenario calls
 * and checks. `npm run conformance` runs the suite against it directly and
 * through `mcp-scale serve`, and compares.
 *
 * It is a server module for the worker host (`mcp-scale worker --server
 * dist/examples/conformance-server.js`, `serve --server …`): the default
 * export is a factory the host calls once per 2025 session and once per
 * 2026 request, so everything that must outlive one call lives at module
 * level, outside the returned server.
 *
 * Written with the v2 SDK (`@modelcontextprotocol/server`) because one
 * handler then serves both wire eras: sampling and elicitation are returned
 * as `inputRequired(...)` results, which 2026-era clients fulfil as a
 * multi-round-trip retry and which the SDK's legacy shim turns into real
 * `sampling/createMessage` / `elicitation/create` requests on a 2025
 * session (the round trip the gateway must route back to this worker).
 */
import {
  completable,
  fromJsonSchema,
  inputRequired,
  inputResponse,
  McpServer,
  ResourceTemplate,
  type CallToolResult,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';

/**
 * The part of mcp-scale's `ServerFactoryContext` (src/worker/server-module.ts)
 * this module reads. Declared here rather than imported so the example stays
 * a standalone module, exactly what a user would write; a test checks that
 * the factory still fits the real contract.
 */
export interface ConformanceServerContext {
  workerId: string;
  requestState?: { verify(state: string, ctx: unknown): Promise<unknown> };
}

/** A 1x1 red PNG. */
const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
/** A 44-byte WAV header with one silent sample. */
const WAV_BASE64 = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';

/**
 * Resource subscriptions by session, kept outside the factory: the server
 * instance is rebuilt per 2026 request, and the subscription must outlive it.
 * A session that ends without unsubscribing leaves its entry behind; the
 * factory sees no session end, and a test fixture's sessions are few.
 */
const subscriptions = new Map<string, Set<string>>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export default function createConformanceServer(context: ConformanceServerContext): McpServer {
  const server = new McpServer(
    { name: 'mcp-scale-conformance', version: '1.0.0' },
    {
      capabilities: {
        tools: {},
        resources: { subscribe: true },
        prompts: {},
        logging: {},
        completions: {},
      },
      ...(context.requestState
        ? {
            requestState: {
              verify: (state: string, ctx: unknown) => context.requestState!.verify(state, ctx),
            },
          }
        : {}),
    },
  );
  registerContentTools(server);
  registerStreamingTools(server);
  registerClientRequestTools(server);
  registerResources(server);
  registerPrompts(server);
  return server;
}

/** Tools that return one fixed kind of content each. */
function registerContentTools(server: McpServer): void {
  const fixed = (name: string, description: string, result: CallToolResult) =>
    server.registerTool(name, { description, inputSchema: z.object({}) }, async () => result);

  fixed('test_simple_text', 'Returns simple text content', {
    content: [{ type: 'text', text: 'This is a simple text response for testing.' }],
  });
  fixed('test_image_content', 'Returns a PNG image', {
    content: [{ type: 'image', data: PNG_BASE64, mimeType: 'image/png' }],
  });
  fixed('test_audio_content', 'Returns a WAV clip', {
    content: [{ type: 'audio', data: WAV_BASE64, mimeType: 'audio/wav' }],
  });
  fixed('test_embedded_resource', 'Returns an embedded text resource', {
    content: [
      {
        type: 'resource',
        resource: {
          uri: 'test://embedded-resource',
          mimeType: 'text/plain',
          text: 'This is an embedded resource content.',
        },
      },
    ],
  });
  fixed('test_multiple_content_types', 'Returns text, image and resource content', {
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: PNG_BASE64, mimeType: 'image/png' },
      {
        type: 'resource',
        resource: {
          uri: 'test://mixed-content-resource',
          mimeType: 'application/json',
          text: JSON.stringify({ test: 'data', value: 123 }),
        },
      },
    ],
  });

  server.registerTool(
    'test_error_handling',
    { description: 'Always fails, to test tool error reporting', inputSchema: z.object({}) },
    async () => {
      // McpServer turns a thrown error into an `isError: true` result.
      throw new Error('This tool intentionally returns an error for testing');
    },
  );

  // SEP-1613: the listed inputSchema must keep $schema, $defs and
  // additionalProperties verbatim, so it is given as raw JSON Schema.
  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Tool with JSON Schema 2020-12 features',
      inputSchema: fromJsonSchema({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        $defs: {
          address: {
            type: 'object',
            properties: { street: { type: 'string' }, city: { type: 'string' } },
          },
        },
        properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
        additionalProperties: false,
      }),
    },
    async (args) => ({ content: [{ type: 'text', text: `Called with ${JSON.stringify(args)}` }] }),
  );
}

/** Tools whose value is what arrives while they run: logs, progress, a dropped stream. */
function registerStreamingTools(server: McpServer): void {
  server.registerTool(
    'test_tool_with_logging',
    { description: 'Sends three info log messages while it runs', inputSchema: z.object({}) },
    async (_args, ctx) => {
      await ctx.mcpReq.log('info', 'Tool execution started');
      await sleep(50);
      await ctx.mcpReq.log('info', 'Tool processing data');
      await sleep(50);
      await ctx.mcpReq.log('info', 'Tool execution completed');
      return { content: [{ type: 'text', text: 'Tool with logging executed successfully' }] };
    },
  );

  server.registerTool(
    'test_tool_with_progress',
    { description: 'Reports progress 0, 50 and 100 of 100', inputSchema: z.object({}) },
    async (_args, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress, total: 100 },
          });
        }
        if (progress < 100) await sleep(50);
      }
      return { content: [{ type: 'text', text: 'Progress tool completed' }] };
    },
  );

  // SEP-1699: close the POST's SSE stream mid-call; the result is stored in
  // the host's event store and replayed when the client reconnects with
  // Last-Event-ID (through a gateway, that GET must reach this worker).
  server.registerTool(
    'test_reconnection',
    {
      description: 'Closes its SSE stream mid-call and answers after the client reconnects',
      inputSchema: z.object({}),
    },
    async (_args, ctx) => {
      ctx.http?.closeSSE?.();
      await sleep(100);
      return { content: [{ type: 'text', text: 'Reconnection test completed successfully.' }] };
    },
  );
}

/** Tools that need the client: sampling and elicitation, as input-required results. */
function registerClientRequestTools(server: McpServer): void {
  server.registerTool(
    'test_sampling',
    {
      description: 'Asks the client for an LLM completion of the prompt',
      inputSchema: z.object({ prompt: z.string().describe('The prompt to send to the LLM') }),
    },
    async ({ prompt }, ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'sample');
      if (answer.kind !== 'sampling') {
        return inputRequired({
          inputRequests: {
            sample: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
              maxTokens: 100,
            }),
          },
        });
      }
      const content = answer.result.content;
      const text =
        !Array.isArray(content) && content.type === 'text' ? content.text : JSON.stringify(content);
      return { content: [{ type: 'text', text: `LLM response: ${text}` }] };
    },
  );

  registerElicitationTool(server, 'test_elicitation', {
    description: 'Asks the user for a username and email',
    inputSchema: z.object({ message: z.string().describe('The message to show the user') }),
    // inputSchema has already made message a string.
    message: (args) => (typeof args.message === 'string' ? args.message : ''),
    prefix: 'User response',
    requestedSchema: {
      type: 'object',
      properties: {
        username: { type: 'string', description: "User's response" },
        email: { type: 'string', description: "User's email address" },
      },
      required: ['username', 'email'],
    },
  });

  // SEP-1034: a default for every primitive type.
  registerElicitationTool(server, 'test_elicitation_sep1034_defaults', {
    description: 'Elicits a form whose fields all carry defaults',
    message: () => 'Please review and update the form fields with defaults',
    prefix: 'Elicitation completed',
    requestedSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', description: 'User name', default: 'John Doe' },
        age: { type: 'integer', description: 'User age', default: 30 },
        score: { type: 'number', description: 'User score', default: 95.5 },
        status: {
          type: 'string',
          description: 'User status',
          enum: ['active', 'inactive', 'pending'],
          default: 'active',
        },
        verified: { type: 'boolean', description: 'Verification status', default: true },
      },
    },
  });

  // SEP-1330: the five enum shapes.
  const titled = (prefix: string, titles: string[]) =>
    titles.map((title, i) => ({ const: `${prefix}${i + 1}`, title }));
  registerElicitationTool(server, 'test_elicitation_sep1330_enums', {
    description: 'Elicits a form using every enum schema variant',
    message: () => 'Please select options from the enum fields',
    prefix: 'Elicitation completed',
    requestedSchema: {
      type: 'object',
      properties: {
        untitledSingle: { type: 'string', description: 'Pick one', enum: ['option1', 'option2', 'option3'] },
        titledSingle: {
          type: 'string',
          description: 'Pick one (titled)',
          oneOf: titled('value', ['First Option', 'Second Option', 'Third Option']),
        },
        legacyEnum: {
          type: 'string',
          description: 'Pick one (legacy titles)',
          enum: ['opt1', 'opt2', 'opt3'],
          enumNames: ['Option One', 'Option Two', 'Option Three'],
        },
        untitledMulti: {
          type: 'array',
          description: 'Pick several',
          items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
        },
        titledMulti: {
          type: 'array',
          description: 'Pick several (titled)',
          items: { anyOf: titled('value', ['First Choice', 'Second Choice', 'Third Choice']) },
        },
      },
    },
  });
}

interface ElicitationToolSpec {
  description: string;
  inputSchema?: z.ZodObject;
  message: (args: Record<string, unknown>) => string;
  prefix: string;
  requestedSchema: Record<string, unknown>;
}

/** One form elicitation, then a text result echoing the user's answer. */
function registerElicitationTool(server: McpServer, name: string, spec: ElicitationToolSpec): void {
  const handler = async (args: Record<string, unknown>, ctx: ServerContext) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'form');
    if (answer.kind !== 'elicit') {
      return inputRequired({
        inputRequests: {
          form: inputRequired.elicit({
            message: spec.message(args),
            // A wire-ready schema, passed through as written: the scenarios
            // check its exact shape (defaults, enumNames, oneOf/anyOf).
            requestedSchema: spec.requestedSchema as Parameters<
              typeof inputRequired.elicit
            >[0]['requestedSchema'],
          }),
        },
      });
    }
    const text = `${spec.prefix}: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
    return { content: [{ type: 'text' as const, text }] };
  };
  server.registerTool(
    name,
    { description: spec.description, inputSchema: spec.inputSchema ?? z.object({}) },
    (args, ctx) => handler(args as Record<string, unknown>, ctx),
  );
}

function registerResources(server: McpServer): void {
  server.registerResource(
    'static-text',
    'test://static-text',
    { description: 'A static text resource', mimeType: 'text/plain' },
    async (uri) => ({
      contents: [
        { uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' },
      ],
    }),
  );
  server.registerResource(
    'static-binary',
    'test://static-binary',
    { description: 'A static binary resource (PNG)', mimeType: 'image/png' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG_BASE64 }] }),
  );
  server.registerResource(
    'watched-resource',
    'test://watched-resource',
    { description: 'A resource clients may subscribe to', mimeType: 'text/plain' },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content' }],
    }),
  );
  server.registerResource(
    'template-data',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'JSON data for an id, substituted from the URI', mimeType: 'application/json' },
    async (uri, { id }) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }),
        },
      ],
    }),
  );

  // McpServer has no subscription bookkeeping of its own: the capability is
  // declared above and the two methods are answered here.
  server.server.setRequestHandler('resources/subscribe', async (request, ctx) => {
    const key = ctx.sessionId ?? 'stateless';
    const uris = subscriptions.get(key) ?? new Set<string>();
    uris.add(request.params.uri);
    subscriptions.set(key, uris);
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', async (request, ctx) => {
    const key = ctx.sessionId ?? 'stateless';
    const uris = subscriptions.get(key);
    uris?.delete(request.params.uri);
    if (uris?.size === 0) subscriptions.delete(key);
    return {};
  });
}

function registerPrompts(server: McpServer): void {
  server.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, async () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }));

  // completion-complete asks for completions of arg1.
  const suggest = (value: string) =>
    ['paris', 'park', 'party', 'test', 'testing'].filter((word) => word.startsWith(value));
  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two required arguments',
      argsSchema: z.object({
        arg1: completable(z.string().describe('First test argument'), suggest),
        arg2: z.string().describe('Second test argument'),
      }),
    },
    async ({ arg1, arg2 }) => ({
      messages: [
        {
          role: 'user',
          content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` },
        },
      ],
    }),
  );

  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      description: 'A prompt that embeds a resource',
      argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }),
    },
    async ({ resourceUri }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: {
              uri: resourceUri,
              mimeType: 'text/plain',
              text: 'Embedded resource content for testing.',
            },
          },
        },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    }),
  );

  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, async () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: PNG_BASE64, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));
}
