/**
 * HTTP header names mcp-scale reads or writes. Lower-case, as Node presents them.
 */
export const HEADER = {
  sessionId: 'mcp-session-id',
  protocolVersion: 'mcp-protocol-version',
  mcpMethod: 'mcp-method',
  mcpName: 'mcp-name',
  lastEventId: 'last-event-id',
  /** Which worker served the response (set by the gateway, and by a worker host itself). */
  instance: 'mcp-scale-instance',
  /** Signed identity the gateway passes to workers (see cluster/identity.ts). */
  identity: 'mcp-scale-identity',
  /** On a worker's 503: it is draining and did not process the request (safe to send elsewhere). */
  draining: 'mcp-scale-draining',
  /** On a worker's 503 to an initialize: its session table is full and busy; a gateway tries another worker. */
  sessionsFull: 'mcp-scale-sessions-full',
} as const;

/** Headers that describe one HTTP hop, never forwarded in either direction (RFC 9110 §7.6.1). */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
];

/** Headers only mcp-scale may set: stripped from anything a client sends. */
export const GATEWAY_ONLY_HEADERS: readonly string[] = [
  HEADER.identity,
  HEADER.instance,
  'mcp-scale-gateway',
];

/**
 * Session ids minted by a worker host name their instance:
 * `<workerId>.<random>`, so a proxy without shared state (nginx `map`,
 * HAProxy stick table) can keep a session on its creator.
 */
export const WORKER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
