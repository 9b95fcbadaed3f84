export * from './context.js';
export * from './app.js';
export * from './service-process.js';
