/*
 * keys.js — DP.core.keys.on('ctrl+s', fn): page keyboard shortcuts.
 */
(function () {
  'use strict';
  var map = {};
  function combo(ev) {
    return (ev.ctrlKey || ev.metaKey ? 'ctrl+' : '') + (ev.shiftKey ? 'shift+' : '') + String(ev.key || '').toLowerCase();
  }
  document.addEventListener('keydown', function (ev) {
    var fn = map[combo(ev)];
    if (fn) { ev.preventDefault(); fn(ev); }
  });
  var DP = window.DP = window.DP || {};
  DP.core = DP.core || {};
  DP.core.keys = { on: function (c, fn) { map[String(c).toLowerCase()] = fn; }, off: function (c) { delete map[String(c).toLowerCase()]; } };
})();
