/*
 * dashd-format.js: how dashd writes a chart's numbers, on axes, in
 * tooltips, in the data table and in the PNG. Plain JavaScript, no build
 * step; declares one name, dashdFormat (none inside /embed.js, which wraps
 * it in a function). Loaded by dashd's pages before dashd-core.js, and by
 * the paint worker (paint-worker.js imports it).
 *
 * A format is what the chart's ECharts option carries as dashd.format
 * (charts.NumberFormat in Go): {unit, decimals, prefix, suffix, thousands,
 * scale}. The same rules are written in Go (charts/format.go), for the text
 * the server draws (threshold labels); charts/testdata/format.json holds
 * the test vectors both must answer alike. So every step here is one Go
 * computes the same: powers of ten are parsed from literals, never
 * computed with Math.log10 or Math.pow, and rounding is toFixed's.
 *
 * Under Node (tests) it exports the same object.
 */
var dashdFormat = (function () {
  'use strict';

  var TIME = { names: ['ns', 'µs', 'ms', 's', 'min', 'h'], steps: [1000, 1000, 1000, 60, 60], down: true, unit: true };
  var BYTES = { names: ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], steps: [1024, 1024, 1024, 1024, 1024], down: true, unit: true };
  // A count steps to k from 10,000 (first), not 1,000: 1,500 stays exact in
  // a tooltip, and an axis of 0-1,000 reads 200, 400, ..., not 0.2k, 0.4k.
  var COUNT = { names: ['', 'k', 'M', 'G', 'T', 'P'], steps: [1000, 1000, 1000, 1000, 1000], down: false, unit: false, first: 10000 };
  var TIME_AT = { ns: 0, us: 1, 'µs': 1, 'μs': 1, ms: 2, s: 3, min: 4, h: 5 };
  var BYTES_AT = { B: 0, KiB: 1, MiB: 2, GiB: 3, TiB: 4, PiB: 5 };

  // ladderOf returns {l, at}: the ladder of unit and where it sits on it,
  // or null for a unit that does not scale ("%").
  function ladderOf(unit) {
    if (unit === '%') return null;
    if (Object.prototype.hasOwnProperty.call(TIME_AT, unit)) return { l: TIME, at: TIME_AT[unit] };
    if (Object.prototype.hasOwnProperty.call(BYTES_AT, unit)) return { l: BYTES, at: BYTES_AT[unit] };
    return { l: COUNT, at: 0 };
  }

  // upAt is the value (in names[at]) from which a steps up.
  function upAt(l, at) { return at === 0 && l.first ? l.first : l.steps[at]; }

  // fit moves a (>= 0, in names[at]) to the unit it reads best in.
  function fit(l, a, at) {
    if (a === 0) return { a: a, at: at };
    while (l.down && a < 1 && at > 0) {
      at--;
      a *= l.steps[at];
    }
    while (at < l.steps.length && a >= upAt(l, at)) {
      a /= l.steps[at];
      at++;
    }
    return { a: a, at: at };
  }

  function convert(l, a, from, to) {
    for (; from < to; from++) a /= l.steps[from];
    for (; from > to; from--) a *= l.steps[from - 1];
    return a;
  }

  function pow10(k) { return Number('1e' + k); }

  // exponent is e with 10^e <= a < 10^(e+1), for a > 0.
  function exponent(a) {
    var e = 0;
    if (a >= 1) {
      while (e < 308 && a >= pow10(e + 1)) e++;
      return e;
    }
    while (e > -324 && a < pow10(e)) e--;
    return e;
  }

  function autoDecimals(a) {
    if (a === 0) return 0;
    return Math.min(Math.max(2 - exponent(a), 0), 20);
  }

  function toFixed(a, d) {
    if (a >= 1e21) return String(a);
    return a.toFixed(d);
  }

  function digits(a, d, trim, sep) {
    // At most 15 significant digits: a float64 holds no more, and past 17
    // toFixed and Go's strconv write different digits.
    if (a > 0) d = Math.max(Math.min(d, 14 - exponent(a)), 0);
    var s = toFixed(a, d);
    if (s.indexOf('e') >= 0) return s;
    var dot = s.indexOf('.');
    var intPart = dot < 0 ? s : s.slice(0, dot);
    var frac = dot < 0 ? '' : s.slice(dot + 1);
    if (trim) frac = frac.replace(/0+$/, '');
    if (sep && intPart.length > 3) {
      var out = '';
      for (var i = 0; i < intPart.length; i++) {
        if (i > 0 && (intPart.length - i) % 3 === 0) out += sep;
        out += intPart[i];
      }
      intPart = out;
    }
    if (!frac) return intPart;
    return intPart + (sep === '.' ? ',' : '.') + frac;
  }

  function isZero(s) { return /^[0.,'_ \u00a0\u202f]*$/.test(s); }

  function separator(f) { return typeof f.thousands === 'string' ? f.thousands : ','; }

  function compose(f, neg, num, l, at, scaled) {
    var out = neg && !isZero(num) ? '-' : '';
    out += (f.prefix || '') + num;
    var unit = f.unit || '';
    if (scaled) {
      if (l.unit) unit = l.names[at];
      else out += l.names[at];
    }
    out += f.suffix || '';
    if (unit) out += ' ' + unit;
    return out;
  }

  function hasDecimals(f) { return typeof f.decimals === 'number'; }

  // value writes v as a tooltip, the table and a threshold label show it;
  // "" for what is not a finite number.
  function value(v, f) {
    f = f || {};
    if (typeof v !== 'number' || !isFinite(v)) return '';
    var neg = v < 0;
    var a = Math.abs(v);
    var ld = f.scale === 'none' ? null : ladderOf(f.unit || '');
    var l = ld && ld.l;
    var at = ld ? ld.at : 0;
    if (ld) {
      var p = fit(l, a, at);
      a = p.a;
      at = p.at;
    }
    var sep = separator(f);
    var write = function (x) {
      return hasDecimals(f) ? digits(x, f.decimals, false, sep) : digits(x, autoDecimals(x), true, sep);
    };
    var num = write(a);
    if (ld && at < l.steps.length) {
      var r = Number(toFixed(a, hasDecimals(f) ? f.decimals : autoDecimals(a)));
      if (r >= upAt(l, at)) {
        a /= l.steps[at];
        at++;
        num = write(a);
      }
    }
    return compose(f, neg, num, l, at, !!ld);
  }

  function round1(x) {
    var r = x * 10;
    return Math.abs(r - Math.round(r)) <= 1e-9 * Math.max(1, Math.abs(r));
  }

  function stepDecimals(iv) {
    var sig = Math.max(1 - exponent(iv), 0);
    for (var d = 0; d < sig; d++) {
      var r = iv * pow10(d);
      if (Math.abs(r - Math.round(r)) <= 1e-9 * r) return d;
    }
    return sig;
  }

  // tick writes v as a label of a value axis {min, max, interval}: every
  // label of one axis in one unit and with the same decimals.
  function tick(v, f, axis) {
    f = f || {};
    axis = axis || {};
    if (typeof v !== 'number' || !isFinite(v)) return '';
    var ld = f.scale === 'none' ? null : ladderOf(f.unit || '');
    var l = ld && ld.l;
    var at = ld ? ld.at : 0;
    var to = at;
    var iv = typeof axis.interval === 'number' ? axis.interval : 0;
    if (ld) {
      var m = Math.max(Math.abs(axis.min), Math.abs(axis.max));
      if (!isFinite(m) || m === 0) m = Math.abs(v);
      to = fit(l, m, at).at;
      if (l.unit && l.down) {
        while (to > 0 && l.steps[to - 1] !== 1000 && l.steps[to - 1] !== 1024 && iv > 0 && !round1(convert(l, iv, at, to))) to--;
      }
      iv = convert(l, iv, at, to);
    }
    var x = ld ? convert(l, v, at, to) : v;
    var num;
    if (x === 0 && ld && !l.unit) return compose(f, false, '0', l, to, false); // "0", not "0k"
    if (x === 0) num = '0';
    else if (iv > 0 && isFinite(iv)) num = digits(Math.abs(x), stepDecimals(iv), false, separator(f));
    else num = digits(Math.abs(x), autoDecimals(Math.abs(x)), true, separator(f));
    return compose(f, x < 0, num, l, to, !!ld);
  }

  // ofOption returns the format an option carries (dashd.format), or null.
  function ofOption(option) {
    var d = option && option.dashd;
    return d && d.format && typeof d.format === 'object' ? d.format : null;
  }

  var exported = { value: value, tick: tick, ofOption: ofOption };
  if (typeof window === 'undefined' && typeof module === 'object' && module && module.exports) {
    module.exports = exported;
  }
  return exported;
})();
