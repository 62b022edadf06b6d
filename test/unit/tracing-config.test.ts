import { describe, expect, it } from 'vitest';
import { resolveTracing } from '../../src/telemetry/tracing-config.js';
import { mcpAttributes } from '../../src/telemetry/mcp-spans.js';

describe('tracing configuration from OTel environment variables', () => {
  it('is off unless an endpoint is configured', () => {
    expect(resolveTracing(undefined, {})).toBeUndefined();
    expect(resolveTracing(undefined, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBeUndefined();
  });

  it('appends /v1/traces to base endpoints and takes the traces endpoint as is', () => {
    expect(resolveTracing(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toEqual({
      tracesUrl: 'http://c:4318/v1/traces',
      protocol: 'http/protobuf',
    });
    expect(
      resolveTracing(undefined, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/custom',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      }),
    ).toEqual({ tracesUrl: 'http://t:4318/custom', protocol: 'http/json' });
  });

  it('lets the flag win over the environment, and the traces protocol over the general one', () => {
    expect(
      resolveTracing('http://flag:4318', {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://env:4318/v1/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      }),
    ).toEqual({ tracesUrl: 'http://flag:4318/v1/traces', protocol: 'http/json' });
  });

  it('is off when the SDK is disabled or the exporter is none', () => {
    expect(resolveTracing('http://c:4318', { OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(resolveTracing('http://c:4318', { OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  });

  it('refuses what it would otherwise drop silently', () => {
    expect(() => resolveTracing('http://c:4318', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported',
    );
    expect(() => resolveTracing('http://c:4318', { OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow('zipkin');
    expect(() => resolveTracing('c:4318 x', {})).toThrow('--otlp-endpoint');
    expect(() => resolveTracing('ftp://c', {})).toThrow('http:// or https://');
    expect(() => resolveTracing('http://c', { OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(
      'jaeger_remote',
    );
    expect(() =>
      resolveTracing('http://c', {
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '5',
      }),
    ).toThrow('from 0 to 1');
    expect(
      resolveTracing('http://c', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }),
    ).toBeDefined();
  });
});

describe('MCP span names and attributes', () => {
  it('names spans {mcp.method.name} {target}', () => {
    expect(
      mcpAttributes([{ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'get_product' } }]),
    ).toEqual({
      name: 'tools/call get_product',
      attributes: {
        'mcp.method.name': 'tools/call',
        'jsonrpc.request.id': '7',
        'gen_ai.tool.name': 'get_product',
        'gen_ai.operation.name': 'execute_tool',
      },
    });
    expect(mcpAttributes([{ method: 'resources/read', id: 'a', params: { uri: 'shop://x' } }]).name).toBe(
      'resources/read shop://x',
    );
    expect(mcpAttributes([{ method: 'tools/list', id: 1 }]).name).toBe('tools/list');
    expect(
      mcpAttributes([
        { method: 'ping', id: 1 },
        { method: 'ping', id: 2 },
      ]).name,
    ).toBe('batch');
  });
});
