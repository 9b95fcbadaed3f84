export * from './context.js';
export * from './app.js';
