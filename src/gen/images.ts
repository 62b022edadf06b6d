/**
 * The third-party images the generated files run. Tags, not digests, so a
 * rebuild picks up the base image's security fixes; pin a digest for
 * reproducible builds with `--base-image node:24-slim@sha256:<digest>` (see
 * docs/gen.md, "Pinning images").
 */

/** Node 24 is an LTS line (maintained until April 2028); mcp-scale itself still runs on Node >= 20. */
export const NODE_IMAGE = 'node:24-slim';
/** `resolve` on upstream servers (re-resolving compose names) needs open-source nginx >= 1.27.3. */
export const NGINX_IMAGE = 'nginx:1.28-alpine';
export const REDIS_IMAGE = 'redis:7-alpine';
/** The uid:gid the official redis alpine image's `redis` user has. */
export const REDIS_UID = 999;

/** `node:<version tag>` (never `latest`) with an optional `@sha256:` digest: what `--base-image` accepts. */
export const NODE_IMAGE_PATTERN = /^node:\d[A-Za-z0-9._-]*(?:@sha256:[0-9a-f]{64})?$/;
