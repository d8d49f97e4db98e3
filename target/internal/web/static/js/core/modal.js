/*
 * modal.js — one dialog for the pages (classic script): DP.core.modal =
 * DP.modal = {open({title, lines, actions}), close(), isOpen()}. The dialog
 * (#dp-core-modal, role dialog) is created on first use; text only.
 */
(function () {
  'use strict';
  var el = null;
  function build() {
    el = document.createElement('div');
    el.id = 'dp-core-modal';
    el.className = 'dp-core-modal';
    el.setAttribute('role', 'dialog');
    el.setAttribute('aria-modal', 'true');
    el.hidden = true;
    (document.body || document.documentElement).appendChild(el);
    return el;
  }
  function close() { if (el) { el.hidden = true; el.replaceChildren(); } }
  function open(o) {
    o = o || {};
    var m = el || build();
    var box = document.createElement('div');
    box.className = 'dp-core-modal-box';
    var h = document.createElement('h5');
    h.textContent = o.title || '';
    box.appendChild(h);
    (o.lines || (o.message ? [o.message] : [])).forEach(function (t) {
      var p = document.createElement('p');
      p.textContent = String(t);
      box.appendChild(p);
    });
    var actions = o.actions && o.actions.length ? o.actions : [{ label: 'Tutup' }];
    actions.forEach(function (a) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn ' + (a.primary ? 'btn-primary' : 'btn-outline-secondary');
      b.textContent = a.label;
      b.addEventListener('click', function () { if (a.onClick) a.onClick(); close(); });
      box.appendChild(b);
    });
    m.replaceChildren(box);
    m.hidden = false;
    return m;
  }
  var DP = window.DP = window.DP || {};
  DP.core = DP.core || {};
  DP.modal = DP.core.modal = { open: open, close: close, isOpen: function () { return !!el && !el.hidden; } };
})();
