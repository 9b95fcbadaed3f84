import t from 'tap';
import { ADMIT_DECREASE, ADMIT_INCREASE, MIN_ADMIT, Overload } from '../../src/gateway/overload.js';

const admitted = (o: Overload, frames: number) => {
  let n = 0;
  for (let i = 0; i < frames; i++) if (o.admitLocation()) n++;
  return n;
};

t.test('under every limit every location frame is admitted', async (t) => {
  const o = new Overload(1000);
  o.adjust();
  t.equal(admitted(o, 1000), 1000);
  t.notOk(o.isOverloaded());
});

t.test('a measured limit over: the admitted share shrinks per sample, evenly spread, never to nothing', async (t) => {
  const o = new Overload(1000);
  o.measured = 'event_loop_delay';
  o.adjust();
  t.equal(o.admitShare, ADMIT_DECREASE);
  t.ok(o.isOverloaded());
  const n = admitted(o, 1000);
  t.ok(n >= 699 && n <= 700, `the share of frames, to one frame (a credit counter, no randomness): ${n}`);
  for (let i = 0; i < 100; i++) o.adjust();
  t.equal(o.admitShare, MIN_ADMIT, 'floored: some frames keep flowing so the share can recover');
  const m = admitted(o, 1000);
  t.ok(m >= 19 && m <= 20, `${m}`);
});

t.test('back under the limit the share grows additively until every frame is admitted again', async (t) => {
  const o = new Overload(1000);
  o.measured = 'event_loop_delay';
  o.adjust();
  o.measured = null;
  o.adjust();
  t.equal(Math.round(o.admitShare * 100) / 100, ADMIT_DECREASE + ADMIT_INCREASE);
  for (let i = 0; i < 10; i++) o.adjust();
  t.equal(o.admitShare, 1);
  t.notOk(o.isOverloaded());
  t.equal(admitted(o, 100), 100);
});

t.test('a pressure source over its limit sheds every frame, whatever the share', async (t) => {
  const o = new Overload(1000);
  let over = true;
  o.addSource('flush_backlog', () => over);
  t.equal(admitted(o, 50), 0);
  over = false;
  t.equal(admitted(o, 50), 50);
});
