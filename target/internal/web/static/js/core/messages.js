/*
 * messages.js — DP.core.messages: the server's flash messages as toasts
 * (show(list) with {level, text}; flush() reads <ul id="dp-messages">).
 */
(function () {
  'use strict';
  var LEVEL = { error: 'error', warning: 'warning', success: 'success', info: 'info', debug: 'info' };
  function show(list) {
    if (!window.DP || !DP.toast) return 0;
    (list || []).forEach(function (m) { DP.toast[LEVEL[m.level] || 'info'](m.text); });
    return (list || []).length;
  }
  function flush() {
    var ul = document.getElementById('dp-messages');
    if (!ul) return 0;
    return show(Array.prototype.map.call(ul.children, function (li) { return { level: li.getAttribute('data-level'), text: li.textContent }; }));
  }
  var DP = window.DP = window.DP || {};
  DP.core = DP.core || {};
  DP.core.messages = { show: show, flush: flush };
})();
