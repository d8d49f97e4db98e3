/*
 * numeric.umd.js — the app's number rules in the browser (UMD: window.DPNumeric,
 * or module.exports). parse() accepts "12,5", "1.234,5678", "1e3"; a single
 * comma is the decimal separator; negative, empty and junk are NaN.
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory();
  else root.DPNumeric = factory();
})(this, function () {
  'use strict';
  function parse(v) {
    if (typeof v === 'number') return v >= 0 && isFinite(v) ? v : NaN;
    var s = String(v === null || v === undefined ? '' : v).trim();
    if (!s) return NaN;
    if (s.indexOf(',') >= 0) s = s.replace(/\./g, '').replace(',', '.');
    var n = Number(s);
    return isFinite(n) && n >= 0 ? n : NaN;
  }
  function format(n, digits) {
    var x = Number(n);
    if (!isFinite(x)) return '–';
    return x.toLocaleString('id-ID', { minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 });
  }
  return { parse: parse, format: format };
});
