// Unit tests of the reading aids of web/static/dashd-core.js (issue 19):
// node --test web/build/
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const d = require('../static/dashd-core.js');

function chart(extra) {
  return Object.assign({ id: 'c', type: 'stacked', horizontal: false, x: 'route', unit: '', title: 'Requests', metric: 'http_requests' }, extra);
}

test('escapeRich leaves no rich-text markup in user text, and looks the same', () => {
  const route = '/api/v2/customers/{customerId}/orders';
  const e = d.escapeRich(route);
  assert.equal(e.replace(/\u200b/g, ''), route);
  assert.doesNotMatch(d.escapeRich('{a|b}{c|}'), /\{[A-Za-z0-9_]+\|/);
});

test('palette gives distinct colours to 24 and 50 series', () => {
  for (const n of [1, 9, 10, 24, 50]) {
    const p = d.palette(n);
    assert.equal(p.length, n);
    assert.equal(new Set(p).size, n, `${n} series: a colour repeats`);
  }
});

test('timeStep is round, a whole number of buckets, and the same for the same bucket and window', () => {
  assert.equal(d.timeStep(1, 60), 10);
  assert.equal(d.timeStep(10, 60), 120);
  assert.equal(d.timeStep(60, 60), 600);
  assert.equal(d.timeStep(15, 240), 600);
  assert.equal(d.timeStep(7, 60) % 7, 0);
});

test('onTick picks round clock times in the chart zone', () => {
  const utc = d.timeFormat('UTC');
  assert.equal(d.onTick('2026-12-03T10:05:00Z', 300, utc), true);
  assert.equal(d.onTick('2026-12-03T10:06:00Z', 300, utc), false);
  const kolkata = d.timeFormat('Asia/Kolkata'); // UTC+5:30
  assert.equal(d.onTick('2026-12-03T10:30:00Z', 3600, kolkata), true, '16:00 there');
  assert.equal(d.onTick('2026-12-03T10:00:00Z', 3600, kolkata), false, '15:30 there');
});

test('the last bucket is partial while the frame time is inside it', () => {
  const cats = ['2026-12-03T10:00:00Z', '2026-12-03T10:00:10Z', '2026-12-03T10:00:20Z'];
  assert.equal(d.bucketOf(cats), 10);
  assert.equal(d.isPartial({ categories: cats, time: '2026-12-03T10:00:24Z' }, 10), true);
  assert.equal(d.isPartial({ categories: cats, time: '2026-12-03T10:00:30Z' }, 10), false);
  const o = d.frameOption(chart({ x: 'time' }), { categories: cats, time: '2026-12-03T10:00:24Z', series: [{ name: 'a', data: [1, 2, 3] }] });
  assert.equal(o.series[0].data[2].value, 3);
  assert.ok(o.series[0].data[2].itemStyle.opacity < 1);
  assert.equal(o.series[0].data[1], 2);
});

test('tipText escapes, totals a stack and names a single series by the title', () => {
  const route = '/api/v2/customers/{customerId|x}/orders';
  const params = [
    { seriesId: 's:200', seriesName: '200', axisValue: route, value: 3, marker: '{m0|}', dataIndex: 0 },
    { seriesId: 's:{500|}', seriesName: '{500|}', axisValue: route, value: 4, marker: '{m1|}', dataIndex: 0 },
    { seriesId: 't', seriesName: 'threshold', axisValue: route, value: 9, dataIndex: 0 },
  ];
  const text = d.tipText(params, chart());
  const lines = text.split('\n');
  assert.equal(lines[0].replace(/\u200b/g, ''), route);
  assert.doesNotMatch(lines[0], /\{[A-Za-z0-9_]+\|/);
  assert.match(lines[1], /^\{m1\|\}/, 'the top of the stack first, its marker kept');
  assert.equal(lines[lines.length - 1], 'Total{g|}7');
  assert.doesNotMatch(text, /threshold/);

  const one = d.tipText([{ seriesId: 's:http_requests', seriesName: 'http_requests', axisValue: 'a', value: 2, marker: '' }], chart({ title: 'Requests {by|route}' }));
  assert.match(one, /Requests/);
  assert.doesNotMatch(one, /http_requests/);
  assert.doesNotMatch(one, /Total/);
});

test('tipText shows a time bucket as its range, partial while it fills', () => {
  const cats = ['2026-12-03T10:00:00Z', '2026-12-03T10:00:10Z'];
  const c = chart({ x: 'time', timeFormat: d.timeFormat('UTC'), frame: { categories: cats, time: '2026-12-03T10:00:15Z', series: [] } });
  const first = d.tipText([{ seriesName: 'a', axisValue: cats[0], value: 1, dataIndex: 0 }, { seriesName: 'b', axisValue: cats[0], value: 1, dataIndex: 0 }], c);
  assert.match(first.split('\n')[0], /^10:00:00 – 10:00:10$/);
  const last = d.tipText([{ seriesName: 'a', axisValue: cats[1], value: 1, dataIndex: 1 }, { seriesName: 'b', axisValue: cats[1], value: 1, dataIndex: 1 }], c);
  assert.match(last.split('\n')[0], /partial/);
});

test('tipText shows at most MAX_TIP_ROWS series and scrolls', () => {
  const params = [];
  for (let i = 0; i < 24; i++) params.push({ seriesName: 's' + i, axisValue: 'a', value: i, marker: '' });
  const c = chart({ type: 'grouped' });
  let lines = d.tipText(params, c).split('\n');
  assert.equal(lines.length, 1 + d.MAX_TIP_ROWS + 1);
  assert.match(lines[lines.length - 1], /12 more/);
  c.tipOffset = 100; // scrolled past the end: held at the last page
  lines = d.tipText(params, c).split('\n');
  assert.match(lines[1], /12 more/);
  assert.match(lines[lines.length - 1], /^s23/);
});

test('isEmptyFrame', () => {
  assert.equal(d.isEmptyFrame(null), true);
  assert.equal(d.isEmptyFrame({ categories: [], series: [] }), true);
  assert.equal(d.isEmptyFrame({ categories: ['a'], series: [{ name: 'x', data: [null] }] }), true);
  assert.equal(d.isEmptyFrame({ categories: ['a'], series: [{ name: 'x', data: [0] }] }), false);
});

test('tipText of a percent chart shows the counts behind the shares', () => {
  const c = chart({ type: 'percent', unit: 'req', frame: { categories: ['eu'], totals: [200], series: [] } });
  const text = d.tipText([
    { seriesName: '200', axisValue: 'eu', value: 75, dataIndex: 0 },
    { seriesName: '500', axisValue: 'eu', value: 25, dataIndex: 0 },
  ], c);
  assert.match(text, /500\{g\|\}25 %.*\(50 req\)/);
  assert.match(text, /200\{g\|\}75 %.*\(150 req\)/);
  assert.match(text.split('\n').pop(), /^Total\{g\|\}200 req$/);
});
