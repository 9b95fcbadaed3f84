/** A webhook sender in its own process, so the test can SIGKILL it mid-delivery. */
import pg from 'pg';
import { pino } from 'pino';
import { systemClock } from '../../src/clock.js';
import { WebhookSender } from '../../src/runtime/webhook-sender.js';

const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 3 });
const sender = new WebhookSender(db, systemClock, pino({ level: 'silent' }), {
  retryForMs: 120_000,
  backoffBaseMs: 10,
  backoffMaxMs: 50,
  timeoutMs: 1000,
  // short, so the restarted sender soon takes over what the killed one had claimed
  leaseMs: 1500,
  pollMs: 10,
  // the test's receiver is on loopback
  allowPrivateTargets: true,
  batchSize: 4,
});
sender.start();
process.stdout.write('started\n');
