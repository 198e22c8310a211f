export * from './training.js';
export * from './replay.js';
export * from './events.js';
export * from './gaussian-bumps.js';
export * from './events.js';
export * from './mulberry32.js';
export * from './gate.js';
export * from './sweep.js';
