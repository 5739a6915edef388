export * from './types.js';
export { parseCollectOutput, collectParams } from './collect-parse.js';
export { parseRuntimeState } from './crictl.js';
export { classify, planPrune, planPruneDirs, crioVersionLeaking } from './classify.js';
export { nodeVerdict } from './verdict.js';
