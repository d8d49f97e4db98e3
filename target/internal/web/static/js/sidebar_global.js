/*
 * sidebar_global.js — the project sidebar's collapsed state (classic script).
 * A click on [data-sidebar-toggle] toggles body.dp-sidebar-collapsed; the
 * state is kept in localStorage under dp-sidebar.
 */
(function () {
  'use strict';
  var KEY = 'dp-sidebar';
  function read() { try { return localStorage.getItem(KEY) === 'collapsed'; } catch (_) { return false; } }
  function apply(c) { if (document.body) document.body.classList.toggle('dp-sidebar-collapsed', c); }
  function toggle() {
    var c = !document.body.classList.contains('dp-sidebar-collapsed');
    apply(c);
    try { localStorage.setItem(KEY, c ? 'collapsed' : 'open'); } catch (_) { /* private mode */ }
    return c;
  }
  document.addEventListener('click', function (ev) {
    if (ev.target && ev.target.closest && ev.target.closest('[data-sidebar-toggle]')) toggle();
  });
  apply(read());
  var DP = window.DP = window.DP || {};
  DP.sidebar = { toggle: toggle };
})();
