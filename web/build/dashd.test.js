// Unit tests of the pure parts of web/static/dashd-core.js: node --test web/build/
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const d = require('../static/dashd-core.js');

function chart(extra) {
  return Object.assign({ id: 'c', type: 'grouped', horizontal: false, x: 'route', unit: '', seq: null, resync: false, threshold: null }, extra);
}

test('acceptFrame takes newer frames only', () => {
  const c = chart();
  assert.equal(d.acceptFrame(c, { seq: 3 }), true);
  assert.equal(d.acceptFrame(c, { seq: 3 }), false);
  assert.equal(d.acceptFrame(c, { seq: 2 }), false);
  assert.equal(d.acceptFrame(c, { seq: 4 }), true);
  assert.equal(c.seq, 4);
  assert.equal(d.acceptFrame(c, { seq: 'x' }), false);
  assert.equal(d.acceptFrame(c, null), false);
});

test('acceptFrame takes the first frame after a reconnect, whatever its seq', () => {
  const c = chart({ seq: 100 });
  c.resync = true; // set on (re)connect
  assert.equal(d.acceptFrame(c, { seq: 1 }), true, 'a restarted server starts seq again');
  assert.equal(c.resync, false);
  assert.equal(d.acceptFrame(c, { seq: 1 }), false);
  assert.equal(d.acceptFrame(c, { seq: 2 }), true);
});

test('framesOf reads frames and batches', () => {
  const f = { type: 'frame', chart: 'a', seq: 1 };
  assert.deepEqual(d.framesOf(f), [f]);
  assert.deepEqual(d.framesOf({ type: 'batch', frames: [f, null, { seq: 2 }, f] }), [f, f]);
  assert.deepEqual(d.framesOf({ type: 'hello' }), []);
  assert.deepEqual(d.framesOf(null), []);
  assert.deepEqual(d.framesOf('x'), []);
});

test('frameOption keys series by id and keeps the threshold', () => {
  const frame = { categories: ['a', 'b'], series: [{ name: 'x', data: [1, null] }, { name: 't', data: [2, 3] }] };
  const grouped = d.frameOption(chart(), frame);
  assert.deepEqual(grouped.xAxis, { data: ['a', 'b'] });
  assert.equal(grouped.yAxis, undefined);
  assert.deepEqual(grouped.series, [
    { id: 's:x', name: 'x', type: 'bar', data: [1, null] },
    { id: 's:t', name: 't', type: 'bar', data: [2, 3] },
  ], "within the theme's palette the option's colours apply (so a palette chosen on the page does)");
  const many = Array.from({ length: 24 }, (_, i) => ({ name: 's' + i, data: [i] }));
  const colours = d.frameOption(chart(), { categories: ['a'], series: many }).series.map((s) => s.itemStyle && s.itemStyle.color);
  assert.equal(new Set(colours).size, 24, 'past the palette every series has a colour of its own: ' + colours.join(' '));
  assert.deepEqual(grouped.legend, { show: true, type: 'scroll' });

  const threshold = { id: 't', type: 'bar', markLine: { data: [{ yAxis: 5 }] } };
  const stacked = d.frameOption(chart({ type: 'percent', horizontal: true, threshold }), { categories: ['a'], series: [{ name: 'x', data: [1] }] });
  assert.deepEqual(stacked.yAxis, { data: ['a'] });
  assert.equal(stacked.xAxis, undefined);
  assert.equal(stacked.series[0].stack, 'total');
  assert.equal(stacked.series[1], threshold);
  assert.deepEqual(stacked.legend, { show: false, type: 'scroll' }, 'the threshold is no series of the legend');

  const empty = d.frameOption(chart(), {});
  assert.deepEqual(empty.series, []);
  assert.deepEqual(empty.xAxis, { data: [] });
});

test('backoffDelay grows, is jittered from zero and capped', () => {
  assert.equal(d.backoffDelay(0, () => 0.999999), 499);
  assert.equal(d.backoffDelay(3, () => 0.5), 2000);
  assert.equal(d.backoffDelay(50, () => 0.999999), 29999);
  assert.equal(d.backoffDelay(50, () => 0), 100, 'a floor keeps it from spinning');
});

test('value formatting: units that scale, percent (dashd-format.js; vectors in format.test.js)', () => {
  assert.equal(d.axisValue(1500, chart({ unit: 'ms' })), '1.5 s');
  assert.equal(d.axisValue(0.02, chart(), { min: 0, max: 0.1, interval: 0.02 }), '0.02');
  assert.equal(d.axisValue(0.1, chart(), { min: 0, max: 0.1, interval: 0.02 }), '0.10');
  assert.equal(d.axisValue(2, chart({ unit: '' })), '2');
  assert.equal(d.axisValue(50, chart({ type: 'percent', unit: 'req' })), '50 %');
  assert.equal(d.axisValue(NaN, chart()), '');
  assert.equal(d.tooltipValue(null, chart()), '–');
  assert.equal(d.tooltipValue(1234.5678, chart({ unit: 'B' })), '1.21 KiB');
  assert.equal(d.tooltipValue(0.00089, chart()), '0.00089');
});

test('decorate takes the number format the option carries, for axis and tooltip', () => {
  const c = chart({ unit: 'ms' });
  const o = d.decorate({ dashd: { format: { unit: 'ms', prefix: '~', decimals: 1 } }, xAxis: [{ type: 'category' }], yAxis: [{ type: 'value' }] }, c).option;
  assert.deepEqual(c.format, { unit: 'ms', prefix: '~', decimals: 1 });
  assert.equal(o.yAxis[0].axisLabel.formatter(7000), '~7 s');
  assert.equal(o.tooltip.valueFormatter(248.768), '~248.8 ms');
  assert.deepEqual(d.tableOf({ categories: ['a'], series: [{ name: 's', data: [62.92] }] }, c)[1], ['a', '~62.9 ms']);
});

test('timeLabel shows RFC 3339 in local HH:MM:SS', () => {
  const iso = '2026-03-01T12:34:56Z';
  const t = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  assert.equal(d.timeLabel(iso), `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`);
  assert.equal(d.timeLabel('not a time'), 'not a time');
});

test('decorate adds formatters and finds the threshold series', () => {
  const option = {
    title: { text: 'T' },
    tooltip: { show: true, trigger: 'axis' },
    xAxis: [{ type: 'category', data: ['2026-03-01T12:00:00Z'] }],
    yAxis: [{ type: 'value' }],
    grid: [{ top: '48', containLabel: true }],
    series: [{ id: 's:a', type: 'bar' }, { id: 't', type: 'bar', markLine: {} }],
  };
  const c = chart({ x: 'time', type: 'percent', unit: 'ms' });
  const out = d.decorate(option, c);
  assert.equal(out.threshold, option.series[1]);
  const o = out.option;
  assert.deepEqual(o.title, { show: false });
  assert.equal(o.tooltip.renderMode, 'richText', 'the tooltip is never HTML');
  assert.equal(o.tooltip.trigger, 'axis');
  assert.equal(o.yAxis[0].max, 100);
  assert.equal(o.yAxis[0].axisLabel.formatter(20), '20 %');
  assert.equal(o.xAxis[0].axisLabel.formatter('bad'), 'bad');
  assert.equal(typeof o.xAxis[0].axisPointer.label.formatter, 'function');
  assert.equal(o.grid[0].containLabel, true);
  assert.equal(d.decorate({ series: [] }, chart()).threshold, null);
});

test('URLs stay on the page origin', () => {
  assert.equal(d.streamQuery('web', ['a']), 'dashboard=web');
  assert.equal(d.streamQuery('', ['a b', 'c']), 'charts=a%20b,c');
  assert.equal(d.withToken('/x', ''), '/x');
  assert.equal(d.withToken('/x?a=1', 'k&y'), '/x?a=1&token=k%26y');
  assert.equal(d.withToken('/x', 't'), '/x?token=t');
  assert.equal(d.wsURL({ protocol: 'https:', host: 'h:1' }, '/s'), 'wss://h:1/s');
  assert.equal(d.wsURL({ protocol: 'http:', host: 'h' }, '/s'), 'ws://h/s');
});

test('timeLabel in a named time zone; an unknown zone falls back to local', () => {
  const fmt = d.timeFormat('UTC');
  assert.equal(d.timeLabel('2026-03-01T12:34:56Z', fmt), '12:34:56');
  assert.equal(d.timeLabel('2026-03-01T12:34:56Z', d.timeFormat('Asia/Kolkata')), '18:04:56');
  assert.equal(d.timeFormat('Not/AZone'), null);
  assert.equal(d.timeFormat(''), null);
  const o = d.decorate({ xAxis: [{ type: 'category' }], yAxis: [{}] }, chart({ x: 'time', timeFormat: fmt })).option;
  assert.equal(o.xAxis[0].axisLabel.formatter('2026-03-01T00:00:01Z'), '00:00:01');
});

test('tableOf gives strings for textContent, formatted as the tooltip', () => {
  const evil = '<img src=x onerror=alert(1)>';
  const rows = d.tableOf({ categories: [evil, 'b'], series: [{ name: evil, data: [1234.5, null] }] }, chart({ x: 'route', unit: 'ms' }));
  assert.deepEqual(rows[0], ['route', evil]);
  assert.equal(rows[1][0], evil);
  assert.equal(rows[1][1], '1.23 s');
  assert.deepEqual(rows[2], ['b', '–']);
  assert.deepEqual(d.tableOf(null, chart()), [['route']]);
  const t = d.tableOf({ categories: ['2026-03-01T12:00:00Z'], series: [] }, chart({ x: 'time', timeFormat: d.timeFormat('UTC') }));
  assert.deepEqual(t, [['time'], ['12:00:00']]);
});

test('errorText reads JSON and text refusals', () => {
  assert.equal(d.errorText(401, '{"error":"embed token expired: it expired at X"}'), 'HTTP 401: embed token expired: it expired at X');
  assert.equal(d.errorText(404, 'no chart "x"\nmore'), 'HTTP 404: no chart "x"');
  assert.equal(d.errorText(500, ''), 'HTTP 500');
});

test('wsURL follows the origin of dashd, not of the host page', () => {
  assert.equal(d.wsURL(new URL('https://dashd.example:8443'), '/api/v1/stream'), 'wss://dashd.example:8443/api/v1/stream');
});

test('announcementsOf finds dashboard announcements alone or in a batch, and framesOf leaves them out', () => {
  const a = { type: 'dashboard', id: 'web', version: 'abc' };
  const f = { type: 'frame', chart: 'c', seq: 1, categories: [], series: [] };
  assert.deepEqual(d.announcementsOf(a), [a]);
  assert.deepEqual(d.announcementsOf({ type: 'batch', frames: [f, a] }), [a]);
  assert.deepEqual(d.announcementsOf(f), []);
  assert.deepEqual(d.framesOf({ type: 'batch', frames: [f, a] }), [f]);
  assert.deepEqual(d.announcementsOf(null), []);
});

test('frameOption draws a chart of many bars in large mode, and a small one not', () => {
  const frame = (cats, sers) => ({
    categories: Array.from({ length: cats }, (_, i) => 'c' + i),
    series: Array.from({ length: sers }, (_, j) => ({ name: 's' + j, data: Array(cats).fill(1) })),
  });
  const big = d.frameOption(chart({ type: 'stacked' }), frame(50, 10));
  assert.ok(big.series.every((s) => s.large === true && s.largeThreshold === 0 && s.stack === 'total'));
  const small = d.frameOption(chart(), frame(5, 2));
  assert.ok(small.series.every((s) => s.large === undefined));
});
