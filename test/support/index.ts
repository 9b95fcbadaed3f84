export * from './context.js';
export * from './app.js';
export * from './service-process.js';
export * from './temp-dir.js';
