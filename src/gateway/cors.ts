import type { IncomingMessage, ServerResponse } from 'node:http';

const EXPOSED = [
  'Mcp-Session-Id',
  'Mcp-Scale-Instance',
  'Mcp-Protocol-Version',
  'RateLimit',
  'RateLimit-Policy',
  'Retry-After',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'WWW-Authenticate',
].join(', ');

const ALLOWED_HEADERS = [
  'Content-Type',
  'Accept',
  'Authorization',
  'X-API-Key',
  'Mcp-Session-Id',
  'Mcp-Protocol-Version',
  'Mcp-Method',
  'Mcp-Name',
  'Last-Event-ID',
].join(', ');

/** CORS for browser MCP clients, only for the origins named by `--cors-origin` (`*` for any). */
export class CorsPolicy {
  constructor(private readonly origins: string[]) {}

  private allowed(origin: string | undefined): origin is string {
    return origin !== undefined && (this.origins.includes('*') || this.origins.includes(origin));
  }

  headers(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (!this.allowed(origin)) return {};
    return {
      'access-control-allow-origin': origin,
      'access-control-expose-headers': EXPOSED,
      vary: 'Origin',
    };
  }

  /** Answers a preflight; returns false when the request is not one. */
  preflight(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'OPTIONS') return false;
    const origin = req.headers.origin;
    if (!this.allowed(origin)) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('CORS origin not allowed');
      return true;
    }
    res.writeHead(204, {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers': ALLOWED_HEADERS,
      'access-control-expose-headers': EXPOSED,
      'access-control-max-age': '600',
      vary: 'Origin',
    });
    res.end();
    return true;
  }
}
