export * from './types.js';
export { parseCollectOutput, parseHealthReport, collectParams } from './collect-parse.js';
export { parseRuntimeState } from './crictl.js';
export { classify, planPrune, planPruneDirs, crioVersionLeaking, healthFacts } from './classify.js';
export { nodeVerdict } from './verdict.js';
