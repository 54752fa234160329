// Tests of web/static/dashd-delta.js against the vectors the Go encoder
// makes (stream/testdata/delta-vectors.json): node --test web/build/
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const d = require('../static/dashd-delta.js');

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, '../../stream/testdata/delta-vectors.json'), 'utf8'));

test('there are vectors', () => {
  assert.ok(vectors.length >= 5);
});

for (const v of vectors) {
  test('applyOps rebuilds the exact frame: ' + v.name, () => {
    assert.equal(d.applyOps(v.prev, JSON.parse(v.delta).ops), v.next);
  });

  test('a decoder rebuilds the frame from a single message: ' + v.name, () => {
    const dec = new d.Decoder();
    assert.deepEqual(dec.decode(v.prev), JSON.parse(v.prev));
    assert.deepEqual(dec.decode(v.delta), JSON.parse(v.next));
    assert.equal(dec.texts.get(JSON.parse(v.next).chart), v.next);
  });
}

// Every vector's chart in one batch, then all their deltas in one batch.
test('a decoder rebuilds frames inside batches, and keeps other items', () => {
  const byChart = new Map();
  for (const v of vectors) byChart.set(JSON.parse(v.prev).chart, v); // one per chart
  const vs = Array.from(byChart.values());
  const dash = '{"type":"dashboard","id":"d","version":3}';
  const first = '{"type":"batch","frames":[' + vs.map((v) => v.prev).concat([dash]).join(',') + ']}';
  const second = '{"type":"batch","frames":[' + vs.map((v) => v.delta).join(',') + ']}';
  assert.deepEqual(d.batchItems(first), vs.map((v) => v.prev).concat([dash]));
  const dec = new d.Decoder();
  const m1 = dec.decode(first);
  assert.deepEqual(m1.frames.at(-1), JSON.parse(dash));
  const m2 = dec.decode(second);
  assert.equal(m2.type, 'batch');
  assert.deepEqual(m2.frames, vs.map((v) => JSON.parse(v.next)));
});

test('a delta without its previous frame asks for a resync', () => {
  const v = vectors[0];
  const dec = new d.Decoder();
  assert.throws(() => dec.decode(v.delta), (e) => e.resync === true);
  dec.decode(v.prev);
  dec.reset(); // a new connection
  assert.throws(() => dec.decode(v.delta), (e) => e.resync === true);
});

test('a delta that does not rebuild a frame asks for a resync', () => {
  const v = vectors[0];
  const dec = new d.Decoder();
  dec.decode(v.prev);
  const chart = JSON.parse(v.prev).chart;
  const bad = JSON.stringify({ type: 'delta', chart: chart, ops: [5, '}'] });
  assert.throws(() => dec.decode(bad), (e) => e.resync === true);
  assert.equal(dec.texts.has(chart), false);
});

test('applyOps refuses ops that are not ops', () => {
  assert.equal(d.applyOps('abc', [4]), null);
  assert.equal(d.applyOps('abc', [-4]), null);
  assert.equal(d.applyOps('abc', [1.5]), null);
  assert.equal(d.applyOps('abc', [{}]), null);
  assert.equal(d.applyOps('abc', 'x'), null);
  assert.equal(d.applyOps('abc', [1, -1, 'X']), 'aXc');
});

test('batchItems reads strings with brackets, commas and escapes', () => {
  const items = ['{"type":"frame","chart":"a,]}","x":"\\"[{,"}', '{"type":"frame","chart":"b","y":[1,[2,3]]}'];
  assert.deepEqual(d.batchItems('{"type":"batch","frames":[' + items.join(',') + ']}'), items);
  assert.deepEqual(d.batchItems('{"type":"batch","frames":[]}'), []);
  assert.equal(d.batchItems('{"type":"frame"}'), null);
  assert.equal(d.batchItems('{"type":"batch","frames":[{"a":1}'), null);
});
