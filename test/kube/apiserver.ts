/**
 * The Kubernetes API stand-in now lives in src/lab/kube-api.ts (the lab serves it to `nodesweep lab` fleets);
 * the tests keep importing it from here.
 */
export * from '../../src/lab/kube-api.js';
