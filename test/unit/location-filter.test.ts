import t from 'tap';
import { CourierTrack, impliedSpeedKmh, REANCHOR_AFTER, rejectReason, SEQ_WINDOW, type FilterLimits, type LocationPoint } from '../../src/domain/location-filter.js';

const limits: FilterLimits = { maxSpeedKmh: 250, maxAccuracyM: 100, maxFutureSkewMs: 30_000, retentionMs: 7 * 86_400_000 };
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const base: LocationPoint = { seq: 1, ts: NOW - 120_000, lat: 52.52, lng: 13.405 };

function check(p: Partial<LocationPoint>, track = new CourierTrack()) {
  return rejectReason({ ...base, ...p }, track, limits, NOW);
}

t.test('a plausible point passes', async (t) => {
  t.equal(check({}), null);
});

t.test('out_of_range: beyond the globe and exactly (0,0)', async (t) => {
  t.equal(check({ lat: 91 }), 'out_of_range');
  t.equal(check({ lng: -181 }), 'out_of_range');
  t.equal(check({ lat: 0, lng: 0 }), 'out_of_range');
  t.equal(check({ lat: 0, lng: 0.001 }), null, 'the equator and the meridian themselves are fine');
});

t.test('future_timestamp: only beyond the allowed clock skew', async (t) => {
  t.equal(check({ ts: NOW + 30_000 }), null);
  t.equal(check({ ts: NOW + 30_001 }), 'future_timestamp');
});

t.test('too_old: older than the retention window', async (t) => {
  t.equal(check({ ts: NOW - limits.retentionMs }), null);
  t.equal(check({ ts: NOW - limits.retentionMs - 1 }), 'too_old');
});

t.test('duplicate_seq: a seq accepted before is rejected, reordered new seqs are not', async (t) => {
  const track = new CourierTrack();
  track.accept({ ...base, seq: 10 });
  track.accept({ ...base, seq: 12, ts: base.ts + 2000 });
  t.equal(check({ seq: 10 }, track), 'duplicate_seq');
  t.equal(check({ seq: 12 }, track), 'duplicate_seq');
  t.equal(check({ seq: 11, ts: base.ts + 1000 }, track), null, 'a gap below the highest seq is still open');
  track.accept({ ...base, seq: 11, ts: base.ts + 1000 });
  t.equal(check({ seq: 11 }, track), 'duplicate_seq');
  t.equal(check({ seq: 13, ts: base.ts + 3000 }, track), null);
});

t.test('duplicate_seq: the window slides and forgets nothing it should remember', async (t) => {
  const track = new CourierTrack();
  track.accept({ ...base, seq: 5 });
  track.accept({ ...base, seq: 5 + SEQ_WINDOW - 1, ts: base.ts + 1 });
  t.ok(track.hasSeen(5), 'still inside the window');
  t.notOk(track.hasSeen(6));
  track.accept({ ...base, seq: 5 + SEQ_WINDOW + 3, ts: base.ts + 2 });
  t.ok(track.hasSeen(5), 'below the window counts as seen: it cannot be told apart from a replay');
  t.notOk(track.hasSeen(5 + SEQ_WINDOW + 1), 'bits reused for new seqs are cleared');
  t.ok(track.hasSeen(5 + SEQ_WINDOW - 1));
  const big = new CourierTrack();
  big.accept({ ...base, seq: 3 });
  big.accept({ ...base, seq: 3 + 10 * SEQ_WINDOW, ts: base.ts + 1 });
  t.notOk(big.hasSeen(3 + 10 * SEQ_WINDOW - 1), 'a large jump clears the whole window');
});

t.test('a resumed track treats seqs up to the stored highest as seen', async (t) => {
  const track = CourierTrack.resume(40, { ts: base.ts, lat: base.lat, lng: base.lng });
  t.equal(check({ seq: 40 }, track), 'duplicate_seq');
  t.equal(check({ seq: 41, ts: base.ts + 1000 }, track), null);
  t.equal(CourierTrack.resume(-1, null).highestSeq, -1);
});

t.test('the duplicate window survives a digest round trip (restored on reconnect)', async (t) => {
  const seen = (track: CourierTrack, seqs: number[]) => seqs.filter((s) => track.hasSeen(s));
  // contiguous, with holes, across a word boundary, and the window's far end
  const accepted = [...Array.from({ length: 2000 }, (_, i) => i).filter((s) => s % 97 !== 5), 2003, 2010];
  const track = new CourierTrack();
  for (const seq of accepted) track.accept({ ...base, seq, ts: base.ts + seq });
  const digest = track.windowDigest();
  t.ok(digest.length < 200, `compact: ${digest.length} characters`);
  const probe = Array.from({ length: 1200 }, (_, i) => 2011 - i);
  const restored = CourierTrack.resume(2010, null, digest);
  t.same(seen(restored, probe), seen(track, probe), 'the same seqs are duplicates after a resume');
  t.equal(check({ seq: 1500, ts: base.ts + 99_999 }, restored), 'duplicate_seq', 'a re-sent seq is a duplicate whatever its ts');
  t.equal(check({ seq: 2002 }, restored), null, 'a seq never accepted is not');

  const fragmented = new CourierTrack();
  for (let seq = 0; seq < 300; seq += 2) fragmented.accept({ ...base, seq, ts: base.ts + seq });
  const raw = fragmented.windowDigest();
  t.match(raw, /^298=[0-9a-f]{256}$/, 'many runs: the raw bitmap');
  t.same(seen(CourierTrack.resume(298, null, raw), probe.map((s) => s - 1800)), seen(fragmented, probe.map((s) => s - 1800)));

  const newer = CourierTrack.resume(2020, null, digest);
  t.ok(newer.hasSeen(2010) && newer.hasSeen(2020) && !newer.hasSeen(2015), 'a stored maxSeq above the digest advances it');
  t.equal(new CourierTrack().windowDigest(), '');
  t.equal(CourierTrack.resume(7, null, 'garbage').highestSeq, 7, 'an unreadable digest falls back to maxSeq');
});

t.test('poor_accuracy: accuracy radius above the limit', async (t) => {
  t.equal(check({ acc: 100 }), null);
  t.equal(check({ acc: 100.5 }), 'poor_accuracy');
});

t.test('implausible_speed: implied speed from the last accepted point', async (t) => {
  const track = new CourierTrack();
  track.accept(base);
  // ~1.1 km north in 10 s = ~400 km/h
  t.equal(check({ seq: 2, ts: base.ts + 10_000, lat: base.lat + 0.01 }, track), 'implausible_speed');
  // same distance in 60 s = ~67 km/h
  t.equal(check({ seq: 2, ts: base.ts + 60_000, lat: base.lat + 0.01 }, track), null);
  // a jump within the reported accuracy is GPS jitter, not speed
  t.equal(check({ seq: 2, ts: base.ts + 10, lat: base.lat + 0.0002, acc: 30 }, track), null);
  // same time, different place: infinite speed
  t.equal(check({ seq: 2, ts: base.ts, lat: base.lat + 0.001 }, track), 'implausible_speed');
  t.equal(impliedSpeedKmh({ ...base, acc: 0 }, base), 0);
});

t.test('out-of-order points are accepted but never move the current position backwards', async (t) => {
  const track = new CourierTrack();
  t.equal(track.accept({ ...base, seq: 1, ts: NOW - 10_000 }), true);
  t.equal(track.accept({ ...base, seq: 3, ts: NOW - 5_000, lat: base.lat + 0.001 }), true);
  const older = { ...base, seq: 2, ts: NOW - 8_000, lat: base.lat + 0.0005 };
  t.equal(check(older, track), null, 'an older point is plausible');
  t.equal(track.accept(older), false, 'but it does not become the current position');
  t.equal(track.current?.ts, NOW - 5_000);
  t.equal(track.current?.lat, base.lat + 0.001);
  t.equal(track.highestSeq, 3);
});

t.test('a rejected point leaves the track unchanged', async (t) => {
  const track = new CourierTrack();
  track.accept(base);
  const before = { highest: track.highestSeq, current: track.current };
  t.equal(check({ seq: 2, lat: 91 }, track), 'out_of_range');
  t.equal(track.highestSeq, before.highest);
  t.equal(track.current, before.current);
});

/** Filters `p` like the ingest does: accept it, or report the rejection to the track. */
function feed(track: CourierTrack, p: LocationPoint) {
  const reason = rejectReason(p, track, limits, NOW);
  if (reason) track.noteRejected(p, reason, limits.maxSpeedKmh);
  else track.accept(p);
  return reason;
}

t.test('implausible_speed re-anchors after REANCHOR_AFTER rejections that agree with each other', async (t) => {
  const track = new CourierTrack();
  t.equal(feed(track, base), null);
  // The anchor was a bad fix (or the courier came out of a tunnel): the real points are 50 km away, 1 s apart.
  const far = (i: number): LocationPoint => ({ seq: 2 + i, ts: base.ts + 1000 * (i + 1), lat: 52.97 + i * 1e-5, lng: 13.405 });
  const reasons = Array.from({ length: REANCHOR_AFTER + 2 }, (_, i) => feed(track, far(i)));
  t.same(reasons, [...Array<string>(REANCHOR_AFTER).fill('implausible_speed'), null, null], 'rejected until the run is long enough, then accepted');
  t.equal(track.current?.lat, far(REANCHOR_AFTER + 1).lat, 'the position follows the new anchor');
  t.equal(feed(track, { ...base, seq: 100, ts: base.ts + 10_000 }), 'implausible_speed', 'the old place is now the implausible one');
});

t.test('implausible_speed: points that disagree with each other never re-anchor', async (t) => {
  const track = new CourierTrack();
  feed(track, base);
  // Wild fixes, each 50 km from the last in 1 s: rejected forever.
  for (let i = 0; i < 10; i++) {
    t.equal(feed(track, { seq: 2 + i, ts: base.ts + 1000 * (i + 1), lat: i % 2 ? 52.97 : 52.07, lng: 13.405 }), 'implausible_speed');
  }
  t.equal(track.current?.lat, base.lat);
});

t.test('implausible_speed: an accepted point in between restarts the count', async (t) => {
  const track = new CourierTrack();
  feed(track, base);
  const far = (seq: number, dtS: number): LocationPoint => ({ seq, ts: base.ts + dtS * 1000, lat: 52.97, lng: 13.405 });
  for (let i = 0; i < REANCHOR_AFTER; i++) t.equal(feed(track, far(2 + i, 1 + i)), 'implausible_speed');
  t.equal(feed(track, { ...base, seq: 10, ts: base.ts + 5000 }), null, 'a good point near the anchor');
  t.equal(feed(track, far(11, 6)), 'implausible_speed', 'the run starts over');
});

t.test('a device that restarts its seq counter is accepted when its points are newer than the current position', async (t) => {
  const track = new CourierTrack();
  t.equal(feed(track, { ...base, seq: 5000 }), null);
  t.equal(feed(track, { ...base, seq: 5000 - SEQ_WINDOW, ts: base.ts - 1000 }), 'duplicate_seq', 'far below and older: a replay');
  t.equal(feed(track, { ...base, seq: 0, ts: base.ts + 1000 }), null, 'far below but newer: the counter was reset');
  t.equal(track.highestSeq, 0, 'the duplicate window starts over');
  t.equal(track.current?.ts, base.ts + 1000);
  t.equal(feed(track, { ...base, seq: 1, ts: base.ts + 2000 }), null, 'the new counter goes on');
  t.equal(feed(track, { ...base, seq: 1, ts: base.ts + 2000 }), 'duplicate_seq', 'and is deduplicated again');
});

t.test('a seq within the window below the highest one is never taken for a reset', async (t) => {
  const track = new CourierTrack();
  feed(track, { ...base, seq: 500 });
  t.equal(feed(track, { ...base, seq: 500, ts: base.ts + 1000 }), 'duplicate_seq');
  t.equal(track.highestSeq, 500);
});
