// Unit tests of the pure parts of web/static/dashd-a11y.js: node --test web/build/
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const a = require('../static/dashd-a11y.js');
const core = require('../static/dashd-core.js');

// luminance is the relative luminance of a #rrggbb colour, contrast the
// contrast ratio of two, both as WCAG 2.x defines them.
function luminance(hex) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error('not a #rrggbb colour: ' + hex);
  const [r, g, b] = m.slice(1).map((h) => {
    const v = parseInt(h, 16) / 255;
    return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(x, y) {
  const [a, b] = [luminance(x), luminance(y)].sort((p, q) => q - p);
  return (a + 0.05) / (b + 0.05);
}

const meta = {
  title: 'Requests by route', type: 'stacked', x: 'route', series: 'status', window: 300, bucket: 0, unit: '',
  thresholds: [{ value: 100, label: 'SLO' }], timeFormat: core.timeFormat('UTC'),
};
const frame = {
  time: '2026-03-01T09:31:05Z',
  categories: ['/checkout', '/a', '/b', '/c', '/d'],
  series: [{ name: '200', data: [790, 10, 3, 1, null] }, { name: '500', data: [22, null, 1, 0, null] }],
};

test('describe says what the chart is and what it shows now', () => {
  const d = a.describe(frame, meta);
  assert.match(d, /^Requests by route, bars by route, stacked by status, last 5 minutes\. /);
  assert.match(d, /Highest: \/checkout 812 \(200: 790, 500: 22\); \/a 10 \(200: 10\); \/b 4 \(200: 3, 500: 1\); and 1 more\./);
  assert.match(d, /Lowest: \/c 1 \(200: 1, 500: 0\)\./);
  assert.match(d, /5 categories, 2 series\./);
  assert.match(d, /Values as of \d\d:\d\d:\d\d\.$/);
  assert.equal(a.describe(null, meta), 'Requests by route, bars by route, stacked by status, last 5 minutes. No data yet.');
  assert.equal(a.describe({ categories: [], series: [] }, meta).endsWith('No data yet.'), true);
});

test('describe: time axis, percent, units, one series', () => {
  const tm = { title: 'Per second', type: 'grouped', x: 'time', series: '', window: 30, bucket: 1, unit: 'ms', thresholds: [], timeFormat: core.timeFormat('UTC') };
  const d = a.describe({ categories: ['2026-03-01T12:00:00Z', '2026-03-01T12:00:01Z'], series: [{ name: 'value', data: [5, 7] }] }, tm);
  assert.match(d, /^Per second, grouped, last 30 seconds in 1 second bars\. 2 categories\. Latest, 12:00:01 7 ms\. Highest: 12:00:01 7 ms; 12:00:00 5 ms\.$/);
  const pm = Object.assign({}, meta, { type: 'percent' });
  assert.match(a.describe(frame, pm), /stacked to 100 % by status.*Shares: \/checkout \(200: 790 %, 500: 22 %\)/);
  assert.equal(a.spanText(3600), '1 hour');
  assert.equal(a.spanText(90), '90 seconds');
  assert.equal(a.spanText(0), '');
  assert.equal(a.headText({ title: 'T', type: 'grouped', x: 'k', window: 0 }), 'T, bars by k, grouped, since the start.');
});

test('pointText names the category, the series and the value', () => {
  assert.equal(a.pointText(frame, meta, 0, 1), '/checkout, status 500: 22 (1 of 5)');
  assert.equal(a.pointText(frame, Object.assign({}, meta, { unit: 'requests' }), 0, 1), '/checkout, status 500: 22 requests (1 of 5)');
  assert.equal(a.pointText(frame, meta, 4, 0), '/d, status 200: no value (5 of 5)');
  const one = { categories: ['x'], series: [{ name: 'value', data: [3] }] };
  assert.equal(a.pointText(one, Object.assign({}, meta, { series: '' }), 0, 0), 'x, 3 (1 of 1)');
  assert.equal(a.pointText(one, meta, 5, 0), 'no data');
});

test('move walks categories and series, stops at the ends, follows names', () => {
  let p = a.move(null, 'ArrowRight', frame);
  assert.deepEqual(p, { ci: 0, si: 0, cat: '/checkout', ser: '200' });
  p = a.move(p, 'ArrowRight', frame);
  assert.equal(p.cat, '/a');
  p = a.move(p, 'ArrowDown', frame);
  assert.equal(p.ser, '500');
  assert.equal(a.move(p, 'ArrowDown', frame).ser, '500', 'the last series stays');
  assert.equal(a.move(p, 'End', frame).cat, '/d');
  assert.equal(a.move(a.move(p, 'End', frame), 'ArrowRight', frame).cat, '/d', 'the last category stays');
  assert.equal(a.move(p, 'Home', frame).ci, 0);
  assert.equal(a.move(a.move(p, 'Home', frame), 'ArrowLeft', frame).ci, 0);
  // A newer frame moved /a to the front: the focus follows it.
  const moved = { categories: ['/a', '/checkout'], series: [{ name: '500', data: [1, 2] }, { name: '200', data: [3, 4] }] };
  const q = a.move(p, 'ArrowUp', moved);
  assert.deepEqual(q, { ci: 0, si: 0, cat: '/a', ser: '500' });
  assert.equal(a.move(null, 'ArrowRight', { categories: [], series: [] }), null);
});

test('crossings: the first frame is the baseline, then each crossing once', () => {
  let x = a.crossings(null, frame, meta);
  assert.deepEqual(x.messages, []);
  x = a.crossings(x.above, frame, meta);
  assert.deepEqual(x.messages, [], 'nothing crossed');
  const next = { categories: ['/checkout', '/a'], series: [{ name: '200', data: [50, 200] }, { name: '500', data: [1, 1] }] };
  x = a.crossings(x.above, next, meta);
  assert.deepEqual(x.messages, [
    'Requests by route: /checkout fell back to 100 (SLO), now 51.',
    'Requests by route: /a rose above 100 (SLO), now 201.',
  ]);
  // Grouped: each value against the line.
  const g = Object.assign({}, meta, { type: 'grouped' });
  const y = a.crossings(new Set(), frame, g);
  assert.deepEqual(y.messages, ['Requests by route: /checkout, status 200 rose above 100 (SLO), now 790.']);
});

test('announcer says at most one thing every 5 s, on the clock it is given', () => {
  let t = 1000;
  const ann = a.announcer(() => t, a.ANNOUNCE_GAP_MS);
  assert.equal(ann.due(), '');
  ann.offer(['one.']);
  assert.equal(ann.due(), 'one.');
  ann.offer(['two.']);
  t += 1000;
  assert.equal(ann.due(), '', '1 s later: held');
  t += 3999;
  assert.equal(ann.due(), '', '4.999 s later: held');
  ann.offer(['three.', 'four.', 'five.']);
  t += 1;
  assert.equal(ann.due(), 'two. three. four. And 1 more.', '5 s later: what waited, together');
  assert.equal(ann.due(), '');
  t += 5000;
  ann.offer(Array.from({ length: 30 }, (_, i) => 'm' + i + '.'));
  assert.equal(ann.due(), 'm0. m1. m2. And 27 more.', 'a burst is bounded and counted');
});

test('settings: the URL wins over what was stored', () => {
  const p = new URLSearchParams('patterns=1&palette=nonsense');
  assert.equal(a.settingOf(p, 'off', 'patterns', ['on', 'off'], 'off'), 'on');
  assert.equal(a.settingOf(p, 'safe', 'palette', ['safe', 'standard'], 'standard'), 'safe');
  assert.equal(a.settingOf(p, null, 'palette', ['safe', 'standard'], 'standard'), 'standard');
  assert.equal(a.settingOf(new URLSearchParams('announce=off'), 'on', 'announce', ['on', 'off'], 'off'), 'off');
  const patch = a.patchOf('dark', 'safe', true, true);
  assert.deepEqual(patch.option.color, a.PALETTES.safe.dark);
  assert.equal(patch.option.animation, false);
  assert.ok(patch.decals.length >= 6 && patch.decals.every((d) => d.color && d.dashArrayX));
  const off = a.patchOf('light', 'standard', false, false);
  assert.equal(off.option.animation, true);
  assert.deepEqual(off.decals, [], 'patterns off: none, also on series drawn before');
});

test('frameOption gives each series its pattern, or none', () => {
  const chart = { type: 'stacked', decals: [{ symbol: 'a' }, { symbol: 'b' }] };
  const f = { categories: ['x'], series: [{ name: 'p', data: [1] }, { name: 'q', data: [2] }, { name: 'r', data: [3] }] };
  assert.deepEqual(core.frameOption(chart, f).series.map((s) => s.itemStyle.decal.symbol), ['a', 'b', 'a']);
  assert.deepEqual(core.frameOption(Object.assign(chart, { decals: [] }), f).series.map((s) => s.itemStyle.decal), ['none', 'none', 'none']);
  assert.equal(core.frameOption({ type: 'grouped' }, f).series[0].itemStyle, undefined, 'a chart without dashd-a11y.js keeps its own');
});

// cssColours reads dashd.css's colour variables per theme: light from
// :root, dark from :root[data-theme="dark"] (the same values serve
// prefers-color-scheme: dark; checked below).
function cssColours() {
  const css = fs.readFileSync(path.join(__dirname, '../static/dashd.css'), 'utf8');
  const block = (sel) => {
    const i = css.indexOf(sel + ' {');
    assert.ok(i >= 0, 'dashd.css has no ' + sel);
    const body = css.slice(i, css.indexOf('}', i));
    const vars = {};
    for (const m of body.matchAll(/--([a-z]+):\s*(#[0-9a-fA-F]{6})/g)) vars[m[1]] = m[2];
    return vars;
  };
  const light = block(':root');
  const dark = block(':root[data-theme="dark"]');
  const auto = block('  :root:not([data-theme="light"])');
  return { light, dark, auto };
}

test('text is at least 4.5:1 and bars and lines 3:1 on both themes\' backgrounds', () => {
  const { light, dark, auto } = cssColours();
  assert.deepEqual(auto, dark, 'the system dark theme and data-theme=dark use the same colours');
  const threshold = core.decorate({ series: [{ id: 't', markLine: {} }] }, { type: 'grouped' }).threshold.markLine.lineStyle.color;
  const report = [];
  for (const [name, v] of Object.entries({ light, dark })) {
    for (const bg of ['bg', 'card']) {
      for (const fg of ['fg', 'muted', 'accent', 'live', 'warn', 'bad']) {
        const r = contrast(v[fg], v[bg]);
        report.push(`${name} --${fg} on --${bg}: ${r.toFixed(2)}`);
        assert.ok(r >= 4.5, `${name}: text --${fg} ${v[fg]} on --${bg} ${v[bg]} is ${r.toFixed(2)}:1, want 4.5:1`);
      }
      for (const set of ['standard', 'safe']) {
        for (const c of a.PALETTES[set][name]) {
          const r = contrast(c, v[bg]);
          assert.ok(r >= 3, `${name}: bar ${c} (${set}) on --${bg} ${v[bg]} is ${r.toFixed(2)}:1, want 3:1`);
        }
      }
      const r = contrast(threshold, v[bg]);
      assert.ok(r >= 3, `${name}: the threshold line ${threshold} on --${bg} is ${r.toFixed(2)}:1, want 3:1`);
    }
  }
  assert.ok(a.PALETTES.standard.light.length >= 6 && a.PALETTES.safe.dark.length >= 6);
});

test('contrast is WCAG\'s', () => {
  assert.equal(contrast('#000000', '#ffffff').toFixed(2), '21.00');
  assert.equal(contrast('#ffffff', '#ffffff'), 1);
  assert.equal(contrast('#767676', '#ffffff').toFixed(2), '4.54');
  assert.throws(() => contrast('red', '#fff'), /not a #rrggbb colour/);
});
