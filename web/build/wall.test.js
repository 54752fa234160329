// Unit tests of issue 17's animation policy (dashdCore.applyFrame with a
// painter's animationBudget): node --test web/build/wall.test.js
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const d = require('../static/dashd-core.js');

// chart is a painter's chart whose ECharts instance records what it is given.
function chart(id) {
  const c = { id: id, type: 'grouped', horizontal: false, x: 'route', threshold: null, animation: true, seriesKey: null, drawnAt: null, set: [] };
  c.ec = { setOption: (o) => c.set.push(o), dispatchAction: () => {} };
  return c;
}

const frame = { categories: ['a', 'b'], series: [{ name: 's', data: [1, 2] }] };
// next is frame with new numbers each time: an update (a frame that
// draws what is drawn already is not drawn at all, see below).
let n = 0;
function next() { n++; return { categories: ['a', 'b'], series: [{ name: 's', data: [n, 2 * n] }] }; }

test('an update animates only a second after the chart drew last, and briefly', () => {
  const c = chart('c');
  const got = [0, 300, 900, 1900, 2100, 3200].map((t) => d.applyFrame(c, next(), t).animation);
  assert.deepEqual(got, [true, false, false, true, false, true]);
  assert.equal(c.set[0].animationDurationUpdate, 250);
});

test('a catch-up draw (still) never animates', () => {
  const c = chart('c');
  assert.equal(d.applyFrame(c, next(), 0, true).animation, false);
  assert.equal(d.applyFrame(c, next(), 5000, true).animation, false);
});

test('at most two charts of a painter animate at once', () => {
  const budget = d.animationBudget();
  const cs = ['a', 'b', 'c', 'd'].map(chart);
  const at0 = cs.map((c) => d.applyFrame(c, next(), 1000, false, budget).animation);
  assert.deepEqual(at0, [true, true, false, false]);
  // 250 ms later the first two are done: two more may animate.
  const later = cs.map((c) => d.applyFrame(c, next(), 2300, false, budget).animation);
  assert.deepEqual(later, [true, true, false, false]);
});

test('a base option without animation keeps it off', () => {
  const c = chart('c');
  c.animation = false;
  assert.equal(d.applyFrame(c, frame, 0).animation, false);
});

// The cost of a frame (issue 17): ECharts' setOption runs its whole update
// and paint whatever it is given, so only frames that change something are
// given to it, and a frame that changes only numbers is given as numbers.
test('a frame that changes only numbers sets only the series data, merged', () => {
  const c = chart('c');
  d.applyFrame(c, { categories: ['a', 'b'], series: [{ name: 's', data: [1, 2] }, { name: 'u', data: [3, 4] }] }, 0);
  assert.ok(c.set[0].xAxis, 'the first frame is drawn whole');
  d.applyFrame(c, { categories: ['a', 'b'], series: [{ name: 's', data: [5, 6] }, { name: 'u', data: [7, 8] }] }, 100);
  assert.deepEqual(c.set[1], { series: [{ id: 's:s', data: [5, 6] }, { id: 's:u', data: [7, 8] }], animation: false });
});

test('a frame of other categories or series is drawn whole, replacing the series', () => {
  const c = chart('c');
  const opts = [];
  c.ec.setOption = (o, how) => { c.set.push(o); opts.push(how); };
  d.applyFrame(c, { categories: ['a', 'b'], series: [{ name: 's', data: [1, 2] }] }, 0);
  d.applyFrame(c, { categories: ['a', 'c'], series: [{ name: 's', data: [1, 2] }] }, 100);
  d.applyFrame(c, { categories: ['a', 'c'], series: [{ name: 't', data: [1, 2] }] }, 200);
  d.applyFrame(c, { categories: ['a', 'c'], series: [{ name: 't', data: [1, 3] }] }, 300);
  assert.deepEqual(c.set.map((o) => !!o.xAxis), [true, true, true, false]);
  assert.deepEqual(opts.map((h) => !!(h && h.replaceMerge)), [true, true, true, false]);
  assert.deepEqual(c.set[2].xAxis.data, ['a', 'c']);
});

test('a frame that draws what is drawn is not drawn; a still one is', () => {
  const c = chart('c');
  assert.notEqual(d.applyFrame(c, frame, 0), null);
  assert.equal(d.applyFrame(c, { categories: ['a', 'b'], series: [{ name: 's', data: [1, 2] }], seq: 9 }, 2000), null);
  assert.equal(c.set.length, 1);
  // A chart shown again (still) always draws: its painter may have lost it.
  assert.notEqual(d.applyFrame(c, frame, 3000, true), null);
  assert.equal(c.set.length, 2);
  // A painter that drew its base option again (shapeKey reset) draws it all.
  c.shapeKey = null;
  d.applyFrame(c, frame, 4000);
  assert.ok(c.set[2].xAxis);
});

test('paintMode: "fresh" (any case, spaces around) or else the default "budget", never an error', () => {
  assert.equal(d.paintMode('fresh'), 'fresh');
  assert.equal(d.paintMode(' FRESH '), 'fresh');
  for (const v of [null, undefined, '', 'budget', 'frugal', 'fresh2', '<img src=x onerror=alert(1)>', 42, {}]) {
    assert.equal(d.paintMode(v), 'budget', String(v));
  }
});
