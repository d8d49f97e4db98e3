/*
 * sync_led.js — colours every .dp-sync-led after DP.sync's state (dp:sync).
 */
(function () {
  'use strict';
  document.addEventListener('dp:sync', function (ev) {
    var s = ev.detail && ev.detail.state;
    document.querySelectorAll('.dp-sync-led').forEach(function (el) { el.setAttribute('data-state', s); });
  });
})();
