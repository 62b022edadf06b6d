import type { ServerResponse } from 'node:http';

/** A small JSON answer for the operational endpoints (/healthz, /readyz, status). */
export function writeJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
