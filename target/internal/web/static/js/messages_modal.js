/*
 * messages_modal.js — shows the server's flash messages (<ul id="dp-messages">
 * rendered by the page, if any) in DP.core.modal once the page has loaded.
 */
(function () {
  'use strict';
  function open() {
    var list = document.getElementById('dp-messages');
    if (!list || !list.children.length || !window.DP || !DP.core || !DP.core.modal) return false;
    var texts = Array.prototype.map.call(list.children, function (li) { return li.textContent; });
    DP.core.modal.open({ title: 'Pesan', lines: texts });
    return true;
  }
  window.addEventListener('load', open);
  var DP = window.DP = window.DP || {};
  DP.messagesModal = { open: open };
})();
