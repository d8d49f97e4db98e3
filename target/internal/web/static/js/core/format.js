/*
 * format.js — DP.core.format: Indonesian number and money formatting.
 */
(function () {
  'use strict';
  function number(v, digits) {
    var n = Number(v);
    if (!isFinite(n)) return '–';
    return n.toLocaleString('id-ID', { minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 });
  }
  var DP = window.DP = window.DP || {};
  DP.core = DP.core || {};
  DP.core.format = { number: number, rupiah: function (v) { return 'Rp ' + number(v, 2); } };
})();
