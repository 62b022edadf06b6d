import type { AdmissionRequest } from '../gateway/admission.js';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';
import { type PolicySet, type PolicySpec } from './policies.js';

/** Points one request takes from one policy's budget for one subject. */
export interface Charge {
  policy: PolicySpec;
  subject: string;
  points: number;
}

/**
 * What a POST costs. JSON-RPC requests (messages with an id) count,
 * `initialize` included and each message of a batch, and so do
 * notifications outside the spec (one point each: see
 * ClassifiedPost.chargedNotifications); the spec's own notifications
 * (initialized, cancelled, progress, roots changed) and responses (a
 * client's answer to elicitation or sampling) never do, nor do GET streams
 * and DELETE. `isContinuation` names 2026-era requests that
 * only carry the answer to an `input_required` round already counted.
 */
export function chargesFor(
  request: AdmissionRequest,
  policies: PolicySet,
  isContinuation: (message: JsonRpcMessage) => boolean = () => false,
): Charge[] {
  const counted = [
    ...(request.classified?.requests ?? []).filter((message) => !isContinuation(message)),
    ...(request.classified?.chargedNotifications ?? []),
  ];
  if (counted.length === 0) return [];
  // With --auth none there is no user: the client IP stands in for one.
  const subject = request.user ?? request.clientIp;
  const charges: Charge[] = [];
  if (policies.user) {
    const points = counted.reduce((sum, message) => sum + costOf(message, policies.toolCosts), 0);
    charges.push({ policy: policies.user, subject, points });
  }
  if (policies.ip && request.user === undefined) {
    charges.push({ policy: policies.ip, subject: request.clientIp, points: counted.length });
  }
  const perTool = new Map<PolicySpec, number>();
  for (const message of counted) {
    const tool = toolNameOf(message);
    const policy = tool === undefined ? undefined : policies.tools.get(tool);
    if (policy) perTool.set(policy, (perTool.get(policy) ?? 0) + 1);
  }
  for (const [policy, points] of perTool) charges.push({ policy, subject, points });
  return charges;
}

/** The tool a `tools/call` names (read from the body, which the router checked against Mcp-Name). */
export function toolNameOf(message: JsonRpcMessage): string | undefined {
  if (message.method !== 'tools/call') return undefined;
  const name = (message.params as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

function costOf(message: JsonRpcMessage, costs: Record<string, number>): number {
  const tool = toolNameOf(message);
  return tool === undefined ? 1 : (costs[tool] ?? 1);
}
