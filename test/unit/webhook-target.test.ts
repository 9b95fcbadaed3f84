/** Which addresses webhooks may reach: only globally routable unicast ones. */
import t from 'tap';
import { isPublicAddress } from '../../src/runtime/webhook-target.js';

t.test('internal addresses are not public', async (t) => {
  for (const a of [
    '127.0.0.1', '127.8.9.10', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.0.10', '169.254.169.254',
    '100.64.0.1', '100.100.100.200', '0.0.0.0', '255.255.255.255', '224.0.0.1', '240.0.0.1',
    '::', '::1', 'fe80::1', 'fd00:ec2::254', 'fc00::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:7f00:1',
    'not-an-ip', '',
  ]) {
    t.notOk(isPublicAddress(a), `${a} refused`);
  }
});

t.test('globally routable addresses are public', async (t) => {
  for (const a of ['93.184.215.14', '8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
    t.ok(isPublicAddress(a), `${a} allowed`);
  }
});
