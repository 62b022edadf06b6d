import { parseAllDocuments } from 'yaml';
import { errorMessage } from '../errors.js';

/**
 * Validates Kubernetes manifests against the Kubernetes 1.27 OpenAPI schemas
 * as compiled by the `kubernetes-models` package, in kubeconform's "strict"
 * sense: besides types, formats and required fields, a key the schema does
 * not declare is an error (the published schemas allow unknown keys, so a
 * misspelt `replicaz:` would otherwise pass silently).
 *
 * Unknown keys are found by watching which properties the compiled
 * validator reads: it reads every property its schema declares (and
 * enumerates free-form maps such as labels), so a key it never reads is one
 * the schema does not know. Objects whose schema declares no properties at
 * all (free-form JSON) are not judged.
 */

interface ModelLike {
  prototype: { validate(): void };
}

type Loader = () => Promise<ModelLike>;

/** The kinds `gen k8s` renders, by `apiVersion/kind`. */
const MODELS: Record<string, Loader> = {
  'v1/Secret': async () => (await import('kubernetes-models/v1/Secret')).Secret,
  'v1/Service': async () => (await import('kubernetes-models/v1/Service')).Service,
  'v1/ConfigMap': async () => (await import('kubernetes-models/v1/ConfigMap')).ConfigMap,
  'apps/v1/Deployment': async () => (await import('kubernetes-models/apps/v1/Deployment')).Deployment,
  'apps/v1/StatefulSet': async () => (await import('kubernetes-models/apps/v1/StatefulSet')).StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': async () =>
    (await import('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler')).HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': async () =>
    (await import('kubernetes-models/policy/v1/PodDisruptionBudget')).PodDisruptionBudget,
  'batch/v1/Job': async () => (await import('kubernetes-models/batch/v1/Job')).Job,
  'networking.k8s.io/v1/Ingress': async () =>
    (await import('kubernetes-models/networking.k8s.io/v1/Ingress')).Ingress,
  'networking.k8s.io/v1/NetworkPolicy': async () =>
    (await import('kubernetes-models/networking.k8s.io/v1/NetworkPolicy')).NetworkPolicy,
  // Gateway API (not in core Kubernetes): the CRD schemas of the standard channel.
  'gateway.networking.k8s.io/v1/Gateway': async () =>
    (await import('@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway')).Gateway,
  'gateway.networking.k8s.io/v1/HTTPRoute': async () =>
    (await import('@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute')).HTTPRoute,
};

/** Problems in a multi-document manifest; empty when every document is valid. */
export async function validateK8sManifest(text: string): Promise<string[]> {
  const problems: string[] = [];
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) return ['not a YAML stream'];
  let index = 0;
  for (const document of documents) {
    index++;
    if (document.errors.length > 0) {
      problems.push(`document ${index}: ${document.errors.map((e) => e.message).join('; ')}`);
      continue;
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue; // a comment-only document
    problems.push(...(await validateK8sObject(value)).map((p) => `document ${index}: ${p}`));
  }
  if (index === 0) problems.push('no documents');
  return problems;
}

export async function validateK8sObject(value: unknown): Promise<string[]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not an object'];
  const { apiVersion, kind } = value as { apiVersion?: unknown; kind?: unknown };
  const load = MODELS[`${String(apiVersion)}/${String(kind)}`];
  if (!load) return [`no schema for apiVersion ${String(apiVersion)} kind ${String(kind)}`];
  const model = await load();
  const reads: ReadLog[] = [];
  const watched = watch(value, '', reads);
  const problems: string[] = [];
  try {
    model.prototype.validate.call(watched);
  } catch (error) {
    problems.push(`${String(kind)}: ${errorMessage(error)}`);
  }
  for (const log of reads) {
    if (log.enumerated || log.read.size === 0) continue;
    for (const key of Object.keys(log.object)) {
      if (!log.read.has(key)) problems.push(`${String(kind)}: unknown key ${log.path}/${key}`);
    }
  }
  return problems;
}

interface ReadLog {
  path: string;
  object: object;
  read: Set<string>;
  /** The validator listed the keys itself (a map such as labels): every key is legitimate. */
  enumerated: boolean;
}

/** A deep copy of `value` whose objects record which keys are read. */
function watch(value: unknown, path: string, reads: ReadLog[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item, i) => watch(item, `${path}/${i}`, reads));
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) copy[key] = watch(child, `${path}/${key}`, reads);
  const log: ReadLog = { path, object: copy, read: new Set(), enumerated: false };
  reads.push(log);
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === 'string') log.read.add(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
    has(target, key) {
      if (typeof key === 'string') log.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      log.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}
