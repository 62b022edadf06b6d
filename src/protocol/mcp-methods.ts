/**
 * The JSON-RPC methods the MCP specification defines (2025-11-25 and
 * 2026-07-28) that a client sends to a server. Everything else is a
 * client's own invention: it still reaches the server, but it is never a
 * metrics label of its own (`other`: an unbounded label set is a memory
 * attack on the gateway and on Prometheus), and as a notification it
 * costs a point against the limits (see docs/limits.md).
 */
export const CLIENT_REQUEST_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'server/discover',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'subscriptions/listen',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
]);

/** Notifications a client sends in the course of the protocol: never counted against limits. */
export const CLIENT_NOTIFICATION_METHODS: ReadonlySet<string> = new Set([
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
]);

/** A bounded metrics label for a method: the method when the spec defines it, else `other`. */
export function methodLabel(method: string): string {
  return CLIENT_REQUEST_METHODS.has(method) || CLIENT_NOTIFICATION_METHODS.has(method) ? method : 'other';
}
