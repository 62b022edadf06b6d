import type { ProbedResponse } from './response-probe.js';

/**
 * Names what went wrong with one request, most specific evidence first:
 * the HTTP status the probe saw, then a timeout, then a JSON-RPC error code
 * carried by the thrown error, then a network failure.
 */
export interface ErrorClassification {
  kind: string;
  status?: number;
  rpcCode?: number;
  message: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function classifyError(error: unknown, probed: ProbedResponse | undefined): ErrorClassification {
  const message = error instanceof Error ? error.message : String(error);
  if (probed && probed.status >= 400) {
    return {
      kind: `http_${probed.status}`,
      status: probed.status,
      ...(probed.rpcCode !== undefined ? { rpcCode: probed.rpcCode } : {}),
      message,
    };
  }
  if (isTimeout(error, message)) return { kind: 'timeout', message };
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number' && Number.isInteger(code) && code < 0) {
    return { kind: `rpc_${code}`, rpcCode: code, ...(probed ? { status: probed.status } : {}), message };
  }
  if (isNetworkError(error)) return { kind: 'network', message: networkMessage(error, message) };
  return { kind: 'client_error', ...(probed ? { status: probed.status } : {}), message };
}

function isTimeout(error: unknown, message: string): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === -32001 && /timed out|timeout/i.test(message)) return true;
  if (typeof code === 'string' && /timeout/i.test(code)) return true;
  return /request timed out/i.test(message);
}

function isNetworkError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (current instanceof TypeError && /fetch failed/i.test(current.message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function networkMessage(error: unknown, fallback: string): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return `${fallback} (${cause.code})`;
  return fallback;
}
