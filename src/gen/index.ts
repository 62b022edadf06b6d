/** `mcp-scale gen`: render, write, check and run proxy and deployment configs. */
export { renderTarget } from './render.js';
export { writeGenerated, type WrittenFile } from './write.js';
export { checkGenerated, type CheckResult, type CheckOptions } from './check.js';
export { resolveGenOptions, genOptionsFromConfig } from './options.js';
export { genWarnings } from './choices.js';
export {
  GEN_TARGETS,
  type GenOptions,
  type GenTarget,
  type GeneratedFile,
  type GeneratedKind,
} from './types.js';
