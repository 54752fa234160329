/*
 * dashd-delta.js: decodes the delta frames of /api/v1/stream?…&delta=1.
 * Plain JavaScript, no build step; declares one name, dashdDelta (under
 * Node, tests, it exports it instead).
 *
 * With ?delta=1 the server may send, in place of a frame of chart ID,
 *
 *   {"type":"delta","chart":"ID","ops":[OP,…]}
 *
 * which rebuilds that frame's exact text from the text of the previous
 * frame of chart ID on the same connection: OP n >= 0 copies the next n
 * characters (UTF-16 code units) of the previous text, -n skips n of them,
 * a string is inserted; after the last OP the rest is copied. It comes
 * alone or inside {"type":"batch","frames":[…]}. The server sends a delta
 * only against a frame this connection received, so a new connection
 * starts with reset() (its snapshot is whole).
 *
 * decode(text) returns the message parsed, each delta replaced by the frame
 * it rebuilds, so the rest of the client sees only CONTRACT.md's frames.
 * A delta it cannot apply (no previous frame: a server bug) throws an error
 * with resync set: the caller reconnects.
 */
var dashdDelta = (function () {
  'use strict';

  var BATCH_HEAD = '{"type":"batch","frames":[';

  // applyOps rebuilds a text from base and ops; null if ops are not ops.
  function applyOps(base, ops) {
    if (!Array.isArray(ops)) return null;
    var out = [];
    var pos = 0;
    for (var i = 0; i < ops.length; i++) {
      var op = ops[i];
      if (typeof op === 'string') {
        out.push(op);
      } else if (typeof op === 'number' && op === Math.floor(op)) {
        if (op >= 0) {
          if (pos + op > base.length) return null;
          out.push(base.substr(pos, op));
          pos += op;
        } else {
          pos -= op;
          if (pos > base.length) return null;
        }
      } else {
        return null;
      }
    }
    out.push(base.slice(pos));
    return out.join('');
  }

  // batchItems returns the exact texts of the items of a batch message as
  // the server writes it ({"type":"batch","frames":[A,B,…]}, compact JSON),
  // or null if text is not one.
  function batchItems(text) {
    if (text.lastIndexOf(BATCH_HEAD, 0) !== 0) return null;
    var items = [];
    var depth = 0;
    var inString = false;
    var start = BATCH_HEAD.length;
    for (var i = start; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (inString) {
        if (c === 92) i++; // backslash: skip the escaped character
        else if (c === 34) inString = false;
        continue;
      }
      if (c === 34) inString = true;
      else if (c === 123 || c === 91) depth++; // { [
      else if (c === 125 || c === 93) { // } ]
        if (depth === 0) { // the batch's closing ]
          if (i > start) items.push(text.slice(start, i));
          return items;
        }
        depth--;
      } else if (c === 44 && depth === 0) { // ,
        items.push(text.slice(start, i));
        start = i + 1;
      }
    }
    return null;
  }

  function resyncError(message) {
    var err = new Error(message);
    err.resync = true;
    return err;
  }

  // Decoder keeps the text of the last frame of each chart of one
  // connection: one string per chart, replaced by each frame.
  function Decoder() {
    this.texts = new Map();
  }

  Decoder.prototype.reset = function () {
    this.texts.clear();
  };

  // item takes one message or batch item: its parsed value and its text.
  Decoder.prototype.item = function (value, text) {
    if (!value || typeof value !== 'object' || typeof value.chart !== 'string') return value;
    if (value.type === 'frame') {
      this.texts.set(value.chart, text);
      return value;
    }
    if (value.type !== 'delta') return value;
    var base = this.texts.get(value.chart);
    if (base === undefined) throw resyncError('delta for chart ' + value.chart + ' without its previous frame');
    var full = applyOps(base, value.ops);
    var frame = null;
    try {
      frame = full === null ? null : JSON.parse(full);
    } catch (e) {
      frame = null;
    }
    if (!frame || frame.type !== 'frame' || frame.chart !== value.chart) {
      this.texts.delete(value.chart);
      throw resyncError('delta for chart ' + value.chart + ' does not rebuild a frame');
    }
    this.texts.set(value.chart, full);
    return frame;
  };

  // decode parses one stream message, deltas rebuilt into frames.
  Decoder.prototype.decode = function (text) {
    var msg = JSON.parse(text);
    if (msg && msg.type === 'batch' && Array.isArray(msg.frames)) {
      var texts = batchItems(text);
      if (!texts || texts.length !== msg.frames.length) {
        // Not as the server writes batches: frames are kept, texts not.
        for (var j = 0; j < msg.frames.length; j++) {
          var f = msg.frames[j];
          if (f && f.type === 'delta') throw resyncError('a batch with a delta that cannot be split');
          if (f && typeof f.chart === 'string') this.texts.delete(f.chart);
        }
        return msg;
      }
      for (var i = 0; i < texts.length; i++) msg.frames[i] = this.item(msg.frames[i], texts[i]);
      return msg;
    }
    return this.item(msg, text);
  };

  var exported = { Decoder: Decoder, applyOps: applyOps, batchItems: batchItems };
  if (typeof window === 'undefined' && typeof module === 'object' && module && module.exports) {
    module.exports = exported;
  }
  return exported;
})();
