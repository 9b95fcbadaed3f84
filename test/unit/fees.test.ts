import t from 'tap';
import { deliveryFee, feeRulesProblem, roundToMinor, surgeMultiplier, type FeeRules } from '../../src/domain/fees.js';

const rules: FeeRules = { currency: 'EUR', base: 2.5, perKm: 0.8, surgeStep: 0.5, surgeCap: 2 };
const trip = { tripM: 3000 };

t.test('base + per km, no surge while couriers are spare', async (t) => {
  // 2.5 + 0.8 × 3 = 4.90
  t.same(deliveryFee(rules, { ...trip, openOrders: 0, freeCouriers: 0 }), { amount: 4.9, currency: 'EUR', surge: 1 });
  t.equal(deliveryFee(rules, { ...trip, openOrders: 2, freeCouriers: 2 }).amount, 4.9, 'as many orders as couriers: no surge');
});

t.test('surge when open orders outnumber free couriers, capped', async (t) => {
  // 1 + 0.5 × (3 − 2) / 2 = 1.25 → 4.90 × 1.25 = 6.125 → 6.13 (half away from zero)
  t.same(deliveryFee(rules, { ...trip, openOrders: 3, freeCouriers: 2 }), { amount: 6.13, currency: 'EUR', surge: 1.25 });
  // no free courier: 1 + 0.5 × 1 / max(0, 1) = 1.5 → 7.35
  t.equal(deliveryFee(rules, { ...trip, openOrders: 1, freeCouriers: 0 }).amount, 7.35);
  // 1 + 0.5 × 4 / 2 = 2.0; 1 + 0.5 × 10 / 2 = 3.5 → capped at 2 → 9.80
  t.equal(surgeMultiplier(rules, 6, 2), 2);
  t.equal(surgeMultiplier(rules, 12, 2), 2, 'capped');
  t.equal(deliveryFee(rules, { ...trip, openOrders: 12, freeCouriers: 2 }).amount, 9.8);
  t.equal(deliveryFee({ ...rules, max: 8 }, { ...trip, openOrders: 12, freeCouriers: 2 }).amount, 8, 'the fee cap');
  t.equal(deliveryFee(rules, { ...trip, openOrders: 12, freeCouriers: 2, surge: false }).amount, 4.9, 'scheduled: no surge');
  // option extra before surge: (4.90 + 1) × 1.25 = 7.375 → 7.38
  t.equal(deliveryFee(rules, { ...trip, openOrders: 3, freeCouriers: 2, extra: 1 }).amount, 7.38);
});

t.test('rounding to the currency’s minor unit', async (t) => {
  // JPY has no minor unit: 300 + 100 × 1.234 = 423.4 → 423
  t.equal(deliveryFee({ ...rules, currency: 'JPY', base: 300, perKm: 100 }, { tripM: 1234, openOrders: 0, freeCouriers: 0 }).amount, 423);
  t.equal(roundToMinor(1.2345, 'KWD'), 1.235, 'KWD has three digits');
  t.equal(roundToMinor(2.675, 'EUR'), 2.68, 'no binary-float surprise at .5');
  t.equal(roundToMinor(1.005, 'USD'), 1.01);
});

t.test('rule problems', async (t) => {
  t.equal(feeRulesProblem(rules), null);
  t.match(feeRulesProblem({ ...rules, currency: 'EURO' }), { field: 'currency' });
  t.match(feeRulesProblem({ ...rules, surgeCap: 0.5 }), { field: 'surgeCap' });
  t.match(feeRulesProblem({ ...rules, max: 1 }), { field: 'max' });
});
