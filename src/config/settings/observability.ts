import { decimal, duration, integer, list, oneOf, text } from './codecs.js';
import { setting, type Codec } from './types.js';

const textCodec = text('url', 'an http:// or https:// OTLP/HTTP base URL');
/** An OTLP/HTTP base URL: refused at start (and by gen) when it is not http(s). */
const otlpUrl: Codec<string> = {
  ...textCodec,
  parse(input) {
    const value = textCodec.parse(input);
    let protocol = '';
    try {
      protocol = new URL(value).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new Error(`expected an http:// or https:// OTLP/HTTP base URL, got ${JSON.stringify(value)}`);
    }
    return value;
  },
};

/** Traces and supervision (docs/observability.md). */
export const OBSERVABILITY_SETTINGS = [
  setting({
    name: 'otlpEndpoint',
    codec: otlpUrl,
    default: undefined,
    roles: ['gateway', 'worker'],
    help: 'export OpenTelemetry traces over OTLP/HTTP to this base URL, e.g. http://127.0.0.1:4318 (wins over OTEL_EXPORTER_OTLP_ENDPOINT; off when neither is set)',
    get: (c) => c.otlpEndpoint,
    set: (c, v) => (c.otlpEndpoint = v),
  }),
  setting({
    name: 'maxRestarts',
    codec: integer('n', 0, 1_000_000),
    default: undefined,
    roles: ['supervisor'],
    help: 'restart a crashed worker at most n times, then leave it down (default: no limit)',
    get: (c) => c.maxRestarts,
    set: (c, v) => (c.maxRestarts = v),
  }),
];

/** `gen prometheus` and `gen grafana`: where to scrape, and the alert thresholds. */
export const MONITORING_SETTINGS = [
  setting({
    name: 'discovery',
    codec: oneOf(['static', 'kubernetes'] as const),
    default: undefined,
    roles: ['gen'],
    help: 'gen prometheus: static targets or Kubernetes pod discovery (default static)',
    get: (c) => c.gen?.discovery,
    set: (c, v) => ((c.gen ??= {}).discovery = v),
  }),
  setting({
    name: 'gatewayTarget',
    codec: list('host:port'),
    default: undefined,
    roles: ['gen'],
    help: 'gen prometheus: a gateway to scrape (repeatable; default gateway-N:8080, the compose services)',
    get: (c) => c.gen?.gatewayTarget,
    set: (c, v) => ((c.gen ??= {}).gatewayTarget = v),
  }),
  setting({
    name: 'workerTarget',
    codec: list('host:port'),
    default: undefined,
    roles: ['gen'],
    help: 'gen prometheus: a worker to scrape (repeatable; default worker-N:3000, the compose services)',
    get: (c) => c.gen?.workerTarget,
    set: (c, v) => ((c.gen ??= {}).workerTarget = v),
  }),
  setting({
    name: 'scrapeInterval',
    codec: duration,
    default: undefined,
    roles: ['gen'],
    help: 'gen prometheus: scrape and rule evaluation interval (default 15s)',
    get: (c) => c.gen?.scrapeIntervalMs,
    set: (c, v) => ((c.gen ??= {}).scrapeIntervalMs = v),
  }),
  setting({
    name: 'alertFor',
    codec: duration,
    default: undefined,
    roles: ['gen'],
    help: 'gen prometheus: how long a gateway or worker is down before it pages (default 2m)',
    get: (c) => c.gen?.alertForMs,
    set: (c, v) => ((c.gen ??= {}).alertForMs = v),
  }),
  setting({
    name: 'alertRateLimitedRatio',
    codec: decimal('ratio', 0, 0.999999, 'a ratio above 0 and below 1, e.g. 0.05'),
    default: undefined,
    roles: ['gen'],
    help: 'gen prometheus: alert when this share of requests gets 429 (default 0.05)',
    get: (c) => c.gen?.alert429Ratio,
    set: (c, v) => ((c.gen ??= {}).alert429Ratio = v),
  }),
  setting({
    name: 'alertLatency',
    codec: duration,
    default: undefined,
    roles: ['gen'],
    help: 'gen prometheus: alert when the p99 request duration is above this (default 2s)',
    get: (c) => c.gen?.alertP99Ms,
    set: (c, v) => ((c.gen ??= {}).alertP99Ms = v),
  }),
  setting({
    name: 'alertRehomeRate',
    codec: decimal('n', 0, Infinity, 'a number above 0'),
    default: undefined,
    roles: ['gen'],
    help: 'gen prometheus: alert above this many session re-homes per second (default 1)',
    get: (c) => c.gen?.alertRehomeRate,
    set: (c, v) => ((c.gen ??= {}).alertRehomeRate = v),
  }),
  setting({
    name: 'alertSessionsCap',
    codec: integer('n', 1, 100_000_000),
    default: undefined,
    roles: ['gen'],
    help: 'gen prometheus: live sessions per worker for workers without their own bound (--server-cmd, or --max-sessions-per-worker 0); the alert fires at 90 % of the bound (default 10000)',
    get: (c) => c.gen?.alertSessionsCap,
    set: (c, v) => ((c.gen ??= {}).alertSessionsCap = v),
  }),
  setting({
    name: 'metricsTokenFile',
    codec: text('path'),
    default: undefined,
    roles: ['gen'],
    help: 'gen prometheus: file holding the admin token, sent as Bearer to /metrics (needed off-loopback)',
    get: (c) => c.gen?.metricsTokenFile,
    set: (c, v) => ((c.gen ??= {}).metricsTokenFile = v),
  }),
];
