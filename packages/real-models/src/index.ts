export * from './checks.js';
export * from './images.js';
export * from './models.js';
