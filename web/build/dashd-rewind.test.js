// Unit tests of the pure parts of web/static/dashd-rewind.js: node --test web/build/
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const r = require('../static/dashd-rewind.js');

test('parseAt reads a moment as dashd reads ?at=', () => {
  const want = Date.UTC(2026, 11, 3, 9, 31, 5);
  for (const s of ['2026-12-03T09:31:05Z', '2026-12-03T10:31:05+01:00', '1796290265', '1796290265000',
    '1796290265000000', '1796290265000000000', ' 1796290265 ']) {
    const d = r.parseAt(s);
    assert.ok(d, s);
    assert.equal(d.getTime(), want, s);
  }
  assert.equal(r.parseAt('1796290265.5').getTime(), want + 500);
  assert.equal(r.parseAt('1.796290265e9').getTime(), want);
  for (const s of ['', 'yesterday', '2026-12-03', 'NaN', 'Infinity', null, undefined]) {
    assert.equal(r.parseAt(s), null, String(s));
  }
});

test('stateText says paused, replaying or live', () => {
  const clock = (d) => d.toISOString().slice(11, 19);
  const at = new Date(Date.UTC(2026, 11, 3, 9, 31, 5));
  assert.equal(r.stateText('live', null, '1', clock), 'live');
  assert.equal(r.stateText('paused', at, '1', clock), 'paused at 09:31:05');
  assert.equal(r.stateText('replay', at, '10', clock), 'replaying 10× · 09:31:05');
});

test('the speeds are those the server takes', () => {
  assert.deepEqual(r.SPEEDS, [1, 2, 5, 10, 30, 60]);
});
