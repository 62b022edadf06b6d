import { UserError } from '../errors.js';

/**
 * Where and how spans are exported, resolved from OTel's own environment
 * variables plus the one mcp-scale setting (`--otlp-endpoint`, config key
 * `otlpEndpoint`, which stands for OTEL_EXPORTER_OTLP_ENDPOINT and wins over
 * it). Off unless an endpoint is configured. Anything the exporter would
 * silently ignore or fall back from (gRPC, an unknown sampler) is refused here.
 */
export type OtlpProtocol = 'http/json' | 'http/protobuf';

export interface TracingConfig {
  /** The full traces URL, e.g. http://collector:4318/v1/traces. */
  tracesUrl: string;
  protocol: OtlpProtocol;
}

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

/** The OTEL_* variables a role passes on to the processes it starts (everything OTel reads). */
export function otelEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith('OTEL_')));
}

export function resolveTracing(
  endpointSetting: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): TracingConfig | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === 'none') return undefined;
  if (exporter !== undefined && exporter !== '' && exporter !== 'otlp') {
    throw new UserError(`OTEL_TRACES_EXPORTER=${exporter} is not supported: use otlp (or none)`);
  }
  const tracesUrl = endpointSetting
    ? withTracesPath(checkUrl(endpointSetting, '--otlp-endpoint'))
    : env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
      ? checkUrl(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
      : env.OTEL_EXPORTER_OTLP_ENDPOINT
        ? withTracesPath(checkUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'OTEL_EXPORTER_OTLP_ENDPOINT'))
        : undefined;
  if (!tracesUrl) return undefined;
  const protocolVar = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = (env[protocolVar] ?? 'http/protobuf').trim();
  if (protocol !== 'http/json' && protocol !== 'http/protobuf') {
    throw new UserError(`${protocolVar}=${protocol} is not supported: use http/protobuf or http/json`);
  }
  checkSampler(env);
  return { tracesUrl, protocol };
}

/** OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: the signal's path is appended, as the spec says. */
function withTracesPath(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

function checkUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`${name}: '${value}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`${name}: '${value}' must be an http:// or https:// URL (OTLP/HTTP)`);
  }
  return value;
}

function checkSampler(env: NodeJS.ProcessEnv): void {
  const sampler = env.OTEL_TRACES_SAMPLER?.trim();
  if (sampler && !SAMPLERS.includes(sampler)) {
    throw new UserError(`OTEL_TRACES_SAMPLER=${sampler} is not supported: use one of ${SAMPLERS.join(', ')}`);
  }
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (arg && sampler?.endsWith('traceidratio')) {
    const ratio = Number(arg);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
      throw new UserError(`OTEL_TRACES_SAMPLER_ARG=${arg} must be a ratio from 0 to 1`);
    }
  }
}
