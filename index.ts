// The public API of phasewatch (DESIGN.md §3).
export * from './streams/index.js';
export * from './operators/index.js';
export * from './engine/index.js';
