import {
  acceptedContent,
  inputRequired,
  McpServer,
  ResourceTemplate,
  type ServerEvent,
} from '@modelcontextprotocol/server';
import * as z from 'zod/v4';
import type { ServerFactoryContext } from '../server-module.js';
import { SERVER_EVENTS_TOPIC } from '../server-events.js';
import { catalog, PRODUCT_COUNT, productId } from './catalog.js';
import type { ShopState } from './shop-state.js';

export interface DemoServerOptions {
  state: ShopState;
  /** Simulated backend latency per data tool call (`--backend-latency`). */
  backendLatencyMs: number;
  /** The worker's tool-result cache, told when a write makes cached reads stale. */
  cache?: {
    invalidate(filter: {
      tool: string;
      args?: Record<string, unknown>;
      exactArgs?: Record<string, unknown>;
    }): Promise<unknown>;
  };
}

const sleep = (ms: number) =>
  ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
const json = (value: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value) }] });
const notFound = (id: string) => ({
  isError: true,
  content: [
    {
      type: 'text' as const,
      text: `No product with id '${id}' (ids run from p00001 to ${productId(PRODUCT_COUNT - 1)})`,
    },
  ],
});
const inventoryUri = (id: string) => `inventory://${id}`;

/**
 * The built-in demo server: a small shop over a deterministic catalogue.
 * Built on the v2 SDK, so one definition serves 2025 sessions and 2026
 * stateless requests. Annotations are honest: the gateway retries and the
 * cache stores only what they allow.
 */
export function createDemoServerFactory(options: DemoServerOptions) {
  const { state, backendLatencyMs } = options;
  const products = catalog();

  return function createDemoServer(ctx: ServerFactoryContext): McpServer {
    const server = new McpServer(
      { name: 'mcp-scale-demo-shop', version: '1.0.0' },
      {
        capabilities: {
          tools: { listChanged: true },
          resources: { subscribe: true, listChanged: true },
          logging: {},
        },
        requestState: { verify: (value, context) => ctx.requestState.verify(value, context) },
        instructions: 'A demo shop: look up products, search, check and change inventory, place orders.',
        // 2026-era cache hints for results that never change while the shop runs
        // (the gateway honours public ones). tools/list is not hinted: the beta
        // tool comes and goes.
        cacheHints: {
          'server/discover': { ttlMs: 60_000, cacheScope: 'public' },
          'resources/list': { ttlMs: 60_000, cacheScope: 'public' },
          'resources/templates/list': { ttlMs: 60_000, cacheScope: 'public' },
        },
      },
    );

    const stockOf = async (id: string) => {
      const product = products.get(id);
      return product ? product.baseStock + (await state.inventoryDelta(id)) : undefined;
    };

    server.registerTool(
      'get_product',
      {
        description: 'Look up one product by id (p00001 … p10000).',
        inputSchema: { id: z.string().describe('Product id, e.g. p00042') },
        annotations: { title: 'Get product', readOnlyHint: true, idempotentHint: true, openWorldHint: false },
      },
      async ({ id }) => {
        await sleep(backendLatencyMs);
        const product = products.get(id);
        if (!product) return notFound(id);
        const { baseStock: _stock, ...rest } = product;
        return json(rest);
      },
    );

    server.registerTool(
      'search_products',
      {
        description: 'Search products by name, category or description.',
        inputSchema: {
          query: z.string().describe('Text to look for, e.g. "kettle" or "outdoor"'),
          limit: z.number().int().min(1).max(50).default(10),
        },
        annotations: {
          title: 'Search products',
          readOnlyHint: true,
          idempotentHint: true,
          openWorldHint: false,
        },
      },
      async ({ query, limit }) => {
        await sleep(backendLatencyMs);
        const found = products
          .search(query, limit)
          .map(({ id, name, price, category }) => ({ id, name, price, category }));
        return json({ query, count: found.length, products: found });
      },
    );

    server.registerTool(
      'get_inventory',
      {
        description: 'Units in stock for one product.',
        inputSchema: { id: z.string() },
        annotations: {
          title: 'Get inventory',
          readOnlyHint: true,
          idempotentHint: true,
          openWorldHint: false,
        },
      },
      async ({ id }) => {
        await sleep(backendLatencyMs);
        const stock = await stockOf(id);
        return stock === undefined ? notFound(id) : json({ id, stock });
      },
    );

    server.registerTool(
      'update_inventory',
      {
        description:
          'Add (or, with a negative delta, remove) units of stock. Subscribers of inventory://{id} are notified.',
        inputSchema: { id: z.string(), delta: z.number().int() },
        annotations: {
          title: 'Update inventory',
          readOnlyHint: false,
          idempotentHint: false,
          destructiveHint: false,
        },
      },
      async ({ id, delta }) => {
        await sleep(backendLatencyMs);
        if (!products.get(id)) return notFound(id);
        await state.adjustInventory(id, delta);
        // Before answering, so a get_inventory after this call sees the new stock.
        // get_inventory takes exactly { id }: its entries' keys are known, no SCAN needed.
        await options.cache?.invalidate({ tool: 'get_inventory', exactArgs: { id } });
        const stock = await stockOf(id);
        const event: ServerEvent = { kind: 'resource_updated', uri: inventoryUri(id) };
        ctx.bus.publish(SERVER_EVENTS_TOPIC, event);
        return json({ id, stock });
      },
    );

    server.registerTool(
      'get_user',
      {
        description: "The calling user's own profile.",
        inputSchema: {},
        annotations: {
          title: 'Get my profile',
          readOnlyHint: true,
          idempotentHint: true,
          openWorldHint: false,
        },
      },
      async () => {
        await sleep(backendLatencyMs);
        return json(userProfile(ctx.user));
      },
    );

    server.registerTool(
      'generate_report',
      {
        description:
          'Builds a sales report, streaming progress notifications for the given number of seconds.',
        inputSchema: { seconds: z.number().min(0).max(300).default(2) },
        annotations: {
          title: 'Generate report',
          readOnlyHint: true,
          idempotentHint: true,
          openWorldHint: false,
        },
      },
      async ({ seconds }, handlerCtx) => {
        const steps = Math.max(1, Math.round(seconds * 4));
        const stepMs = (seconds * 1000) / steps;
        const progressToken = handlerCtx.mcpReq._meta?.progressToken;
        for (let step = 1; step <= steps; step++) {
          await sleep(stepMs);
          if (handlerCtx.mcpReq.signal.aborted) break;
          if (progressToken !== undefined) {
            await handlerCtx.mcpReq.notify({
              method: 'notifications/progress',
              params: { progressToken, progress: step, total: steps, message: `section ${step} of ${steps}` },
            });
          }
        }
        return json({
          report: 'sales',
          sections: steps,
          generatedBy: ctx.workerId,
          at: new Date().toISOString(),
        });
      },
    );

    server.registerTool(
      'confirm_order',
      {
        description: 'Places an order after asking the user to confirm it (elicitation).',
        inputSchema: { id: z.string().describe('Product id to order') },
        annotations: {
          title: 'Confirm order',
          readOnlyHint: false,
          idempotentHint: false,
          destructiveHint: false,
        },
      },
      async ({ id }, handlerCtx) => {
        const product = products.get(id);
        if (!product) return notFound(id);
        const responded = handlerCtx.mcpReq.inputResponses?.confirm !== undefined;
        const answer = acceptedContent<{ confirm?: boolean }>(handlerCtx.mcpReq.inputResponses, 'confirm');
        if (!responded) {
          // Round one: ask. requestState is sealed with the cluster secret, so
          // round two may land on any worker.
          return inputRequired({
            inputRequests: {
              confirm: inputRequired.elicit({
                message: `Order one ${product.name} for $${product.price}?`,
                requestedSchema: {
                  type: 'object',
                  properties: { confirm: { type: 'boolean', description: 'Place the order' } },
                  required: ['confirm'],
                },
              }),
            },
            requestState: await ctx.requestState.mint({ id, askedBy: ctx.workerId }),
          });
        }
        const asked = handlerCtx.mcpReq.requestState<{ id: string; askedBy: string }>();
        // Declined, cancelled, or accepted without confirming: no order.
        if (answer?.confirm !== true) return json({ id, ordered: false, askedBy: asked?.askedBy });
        return json({ id, ordered: true, askedBy: asked?.askedBy, confirmedOn: ctx.workerId });
      },
    );

    server.registerTool(
      'toggle_beta_tool',
      {
        description: 'Switches the beta_recommendations tool on or off for everyone (tools/list_changed).',
        inputSchema: { enabled: z.boolean().optional().describe('Omit to flip the current state') },
        annotations: { title: 'Toggle beta tool', readOnlyHint: false, idempotentHint: false },
      },
      async ({ enabled }) => {
        const next = enabled ?? !state.betaEnabled();
        await state.setBeta(next);
        ctx.bus.publish(SERVER_EVENTS_TOPIC, { kind: 'tools_list_changed' } satisfies ServerEvent);
        return json({ beta_recommendations: next ? 'enabled' : 'disabled' });
      },
    );

    const beta = server.registerTool(
      'beta_recommendations',
      {
        description: 'Beta: products related to the given one.',
        inputSchema: { id: z.string() },
        annotations: { title: 'Recommendations (beta)', readOnlyHint: true, idempotentHint: true },
      },
      async ({ id }) => {
        await sleep(backendLatencyMs);
        const product = products.get(id);
        if (!product) return notFound(id);
        return json({ id, related: products.search(product.category, 5).map((p) => p.id) });
      },
    );
    if (!state.betaEnabled()) beta.disable();

    server.registerResource(
      'inventory',
      new ResourceTemplate('inventory://{id}', {
        list: async () => ({
          resources: Array.from({ length: 20 }, (_, i) => ({
            uri: inventoryUri(productId(i)),
            name: `Inventory of ${productId(i)}`,
            mimeType: 'application/json',
          })),
        }),
      }),
      {
        description: 'Live stock level of a product; subscribe to be told when it changes.',
        mimeType: 'application/json',
      },
      async (uri, variables) => {
        const id = String(variables.id);
        const stock = await stockOf(id);
        if (stock === undefined) throw new Error(`No product with id '${id}'`);
        return {
          contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, stock }) }],
        };
      },
    );

    if (ctx.era === 'legacy') wireLegacyNotifications(server, ctx, state, beta);
    return server;
  };
}

/**
 * A 2025 session has its own server instance for its lifetime: it tracks the
 * session's resource subscriptions and turns cluster events into 2025
 * notifications (2026 streams get them from the SDK's listen router instead).
 */
function wireLegacyNotifications(
  server: McpServer,
  ctx: ServerFactoryContext,
  state: ShopState,
  beta: { enable(): void; disable(): void },
): void {
  const subscriptions = new Set<string>();
  server.server.setRequestHandler('resources/subscribe', async (request) => {
    subscriptions.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', async (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });
  const stopEvents = ctx.bus.subscribe(SERVER_EVENTS_TOPIC, (message) => {
    const event = message as ServerEvent;
    if (event.kind === 'resource_updated' && subscriptions.has(event.uri) && server.isConnected()) {
      server.server.sendResourceUpdated({ uri: event.uri }).catch(() => {});
    }
  });
  // enable()/disable() make the SDK send tools/list_changed to this session.
  const stopBeta = state.onBetaChange((enabled) => (enabled ? beta.enable() : beta.disable()));
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    stopEvents();
    stopBeta();
    previousOnClose?.();
  };
}

function userProfile(user: string | undefined) {
  if (!user) return { user: null, displayName: 'Anonymous shopper', tier: 'guest' };
  let hash = 0;
  for (const char of user) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return {
    user,
    displayName: user.charAt(0).toUpperCase() + user.slice(1),
    tier: ['bronze', 'silver', 'gold'][hash % 3],
    memberSince: 2015 + (hash % 10),
  };
}
