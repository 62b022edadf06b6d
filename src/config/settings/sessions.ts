import { DEFAULT_REPLAY_BOUNDS } from '../../worker/event-store.js';
import { duration, integer, size } from './codecs.js';
import { setting } from './types.js';

/** Memory bounds of 2025 sessions and 2026 listen streams (docs/session-bounds.md). */
export const SESSION_BOUND_SETTINGS = [
  setting({
    name: 'maxSessionsPerWorker',
    codec: integer('n', 0, 10_000_000),
    // Unset = the worker host's default (5000); set, it is refused with --server-cmd.
    default: undefined,
    roles: ['worker'],
    help: 'live 2025 sessions per worker (default 5000; 0 = unbounded); past it the least recently used idle one is evicted and replayed on its next request; not for --server-cmd',
    get: (c) => c.maxSessionsPerWorker,
    set: (c, v) => (c.maxSessionsPerWorker = v),
  }),
  setting({
    name: 'maxSessionsPerUser',
    codec: integer('n', 0, 10_000_000),
    default: 0,
    roles: ['gateway'],
    help: "live 2025 sessions per user (client IP under --auth none; 0 = unlimited); a new one closes the user's least recently used idle session",
    get: (c) => c.maxSessionsPerUser,
    set: (c, v) => (c.maxSessionsPerUser = v),
  }),
  setting({
    name: 'maxSessionState',
    codec: size,
    default: 16 * 1024,
    roles: ['gateway'],
    help: 'replay state a 2025 session may keep (initialize params + recorded calls); more gets 413',
    get: (c) => c.maxSessionStateBytes,
    set: (c, v) => (c.maxSessionStateBytes = v),
  }),
  setting({
    name: 'sessionCacheSize',
    codec: integer('n', 1, 100_000_000),
    default: 50_000,
    roles: ['gateway'],
    help: 'session records a gateway keeps in memory (an LRU in front of Redis)',
    get: (c) => c.sessionCacheSize,
    set: (c, v) => (c.sessionCacheSize = v),
  }),
  setting({
    name: 'replayBuffer',
    codec: size,
    default: DEFAULT_REPLAY_BOUNDS.maxBytes,
    roles: ['worker'],
    help: 'SSE events a worker keeps for Last-Event-ID resumption, all its sessions together (serialized size; 0 keeps none); the oldest are forgotten first; not for --server-cmd',
    get: (c) => c.replayBufferBytes,
    set: (c, v) => (c.replayBufferBytes = v),
  }),
  setting({
    name: 'replayWindow',
    codec: duration,
    default: DEFAULT_REPLAY_BOUNDS.windowMs,
    roles: ['worker'],
    help: 'how long an SSE event stays replayable with Last-Event-ID (0: not at all); not for --server-cmd',
    get: (c) => c.replayWindowMs,
    set: (c, v) => (c.replayWindowMs = v),
  }),
  setting({
    name: 'maxListenStreamsPerUser',
    codec: integer('n', 0, 1_000_000),
    default: 0,
    roles: ['gateway'],
    help: 'open 2026 subscriptions/listen streams per user per gateway (0 = unlimited); more get 429',
    get: (c) => c.maxListenStreamsPerUser,
    set: (c, v) => (c.maxListenStreamsPerUser = v),
  }),
];
