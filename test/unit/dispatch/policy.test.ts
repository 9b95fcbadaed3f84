import t from 'tap';
import { defaultPolicy, parseOverrides, PolicyError, policyKeys, withOverrides } from '../../../src/dispatch/policy.js';

t.test('withOverrides applies string and number values without touching the original', async (t) => {
  const p = withOverrides(defaultPolicy, { timeWeight: '0.25', maxBundleSize: 3 });
  t.equal(p.timeWeight, 0.25);
  t.equal(p.maxBundleSize, 3);
  t.equal(defaultPolicy.timeWeight, 0.95, 'default unchanged');
  t.equal(p.commitHorizonS, defaultPolicy.commitHorizonS);
});

t.test('unknown keys and bad values fail with a stable code', async (t) => {
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      return err instanceof PolicyError ? err.code : 'not a PolicyError';
    }
    return undefined;
  };
  t.equal(code(() => withOverrides(defaultPolicy, { timeWieght: '1' })), 'POLICY_UNKNOWN_KEY');
  t.equal(code(() => withOverrides(defaultPolicy, { timeWeight: '1.5' })), 'POLICY_BAD_VALUE', 'out of [0, 1]');
  t.equal(code(() => withOverrides(defaultPolicy, { timeWeight: 'fast' })), 'POLICY_BAD_VALUE');
  t.equal(code(() => withOverrides(defaultPolicy, { maxBundleSize: '2.5' })), 'POLICY_BAD_VALUE', 'integer key');
  t.equal(code(() => withOverrides(defaultPolicy, { commitHorizonS: '' })), 'POLICY_BAD_VALUE', 'empty value');
  t.equal(code(() => withOverrides(defaultPolicy, { commitHorizonS: '-1' })), 'POLICY_BAD_VALUE');
  t.match(String((() => { try { withOverrides(defaultPolicy, { nope: 1 }); } catch (e) { return (e as Error).message; } })()), /known keys: .*timeWeight/);
});

t.test('parseOverrides splits key=value pairs', async (t) => {
  t.same(parseOverrides(['timeWeight=0.5', 'maxMs = 20', 'x=a=b']), { timeWeight: '0.5', maxMs: ' 20', x: 'a=b' });
  t.throws(() => parseOverrides(['timeWeight']), PolicyError);
  t.throws(() => parseOverrides(['=3']), PolicyError);
});

t.test('every policy key is validated and documented by the default', async (t) => {
  t.same([...policyKeys].sort(), Object.keys(defaultPolicy).sort());
});
