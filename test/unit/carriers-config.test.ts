import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { CarrierRegistry } from '../../src/runtime/carriers.js';

const one = { name: 'simcarrier', baseUrl: 'http://127.0.0.1:9090/', apiKey: 'k', webhookSecret: 'sim-webhook-secret-0123456789' };

t.test('CARRIERS: parsed with the default margin, names unique and valid, secrets long enough', async (t) => {
  t.same(loadConfig({}).carriers, [], 'unset: no carriers');
  t.same(loadConfig({ CARRIERS: JSON.stringify([one]) }).carriers, [{ ...one, baseUrl: 'http://127.0.0.1:9090', margin: 0.2 }]);
  t.equal(loadConfig({ CARRIERS: JSON.stringify([{ ...one, margin: 0.5 }]) }).carriers[0].margin, 0.5);
  const refused = (value: unknown) => t.throws(() => loadConfig({ CARRIERS: typeof value === 'string' ? value : JSON.stringify(value) }), { code: 'config_invalid', key: 'CARRIERS' });
  refused('{not json');
  refused({ name: 'x' });
  refused([{ ...one, name: 'Sim Carrier' }]);
  refused([{ ...one, name: 'own' }]);
  refused([one, one]);
  refused([{ ...one, baseUrl: 'ftp://x' }]);
  refused([{ ...one, apiKey: '' }]);
  refused([{ ...one, webhookSecret: 'short' }]);
  refused([{ ...one, margin: -1 }]);
  const registry = CarrierRegistry.fromConfig(loadConfig({ CARRIERS: JSON.stringify([one, { ...one, name: 'b' }]) }).carriers, 1000);
  t.same(registry.names(), ['b', 'simcarrier']);
  t.equal(registry.get('simcarrier')?.adapter.name, 'simcarrier');
  t.equal(registry.get('nobody'), undefined);
});
