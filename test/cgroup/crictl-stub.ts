/**
 * The crictl stand-in now lives in src/lab/crictl-standin.ts (the lab's nodes use it too); the tests keep
 * importing it from here.
 */
export * from '../../src/lab/crictl-standin.js';
