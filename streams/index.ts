export * from './training.js';
export * from './replay.js';
