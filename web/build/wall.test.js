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

test('an update animates only a second after the chart drew last, and briefly', () => {
  const c = chart('c');
  const got = [0, 300, 900, 1900, 2100, 3200].map((t) => d.applyFrame(c, frame, t).animation);
  assert.deepEqual(got, [true, false, false, true, false, true]);
  assert.equal(c.set[0].animationDurationUpdate, 250);
});

test('a catch-up draw (still) never animates', () => {
  const c = chart('c');
  assert.equal(d.applyFrame(c, frame, 0, true).animation, false);
  assert.equal(d.applyFrame(c, frame, 5000, true).animation, false);
});

test('at most two charts of a painter animate at once', () => {
  const budget = d.animationBudget();
  const cs = ['a', 'b', 'c', 'd'].map(chart);
  const at0 = cs.map((c) => d.applyFrame(c, frame, 1000, false, budget).animation);
  assert.deepEqual(at0, [true, true, false, false]);
  // 250 ms later the first two are done: two more may animate.
  const later = cs.map((c) => d.applyFrame(c, frame, 2300, false, budget).animation);
  assert.deepEqual(later, [true, true, false, false]);
});

test('a base option without animation keeps it off', () => {
  const c = chart('c');
  c.animation = false;
  assert.equal(d.applyFrame(c, frame, 0).animation, false);
});
