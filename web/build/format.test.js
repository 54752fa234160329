// The number format of web/static/dashd-format.js against the test vectors
// that charts/format_test.go reads too (charts/testdata/format.json): Go
// and the client write numbers alike. node --test web/build/
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const f = require('../static/dashd-format.js');

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, '../../charts/testdata/format.json'), 'utf8'));

test('the vectors are there', () => {
  assert.ok(vectors.values.length > 0 && vectors.axes.length > 0);
});

test('value answers every vector as Go does', () => {
  vectors.values.forEach((c, i) => {
    assert.equal(f.value(c.value, c.format), c.want, `values[${i}] ${c.why || ''}: value(${c.value}, ${JSON.stringify(c.format)})`);
  });
});

test('tick answers every vector as Go does', () => {
  vectors.axes.forEach((c, i) => {
    assert.equal(c.ticks.length, c.want.length);
    c.ticks.forEach((t, j) => {
      assert.equal(f.tick(t, c.format, c.axis), c.want[j], `axes[${i}] ${c.why || ''}: tick(${t}, ${JSON.stringify(c.format)}, ${JSON.stringify(c.axis)})`);
    });
  });
});

test('what is not a number is written as nothing', () => {
  assert.equal(f.value(NaN, {}), '');
  assert.equal(f.value(null, {}), '');
  assert.equal(f.value(Infinity, { unit: 'ms' }), '');
  assert.equal(f.tick(undefined, {}, {}), '');
});

test('ofOption reads the format an option carries', () => {
  assert.deepEqual(f.ofOption({ dashd: { format: { unit: 'ms' } } }), { unit: 'ms' });
  assert.equal(f.ofOption({}), null);
  assert.equal(f.ofOption(null), null);
});
