// Injected before any page script (Page.addScriptToEvaluateOnNewDocument).
// Records toast and loading-overlay lifecycles with page-clock timestamps and
// pushes each record to the harness through the __e2eEmit binding, so the
// harness waits on events instead of polling the DOM.
(function () {
  if (window.__e2e) return;
  var FADE_REF_MS = 300; // documented .dp-toast-hide duration
  var seq = 0;
  var ids = new WeakMap();
  var calls = new WeakMap(); // toast element -> the harness call that appended it
  var callSeq = 0;
  var rec = { events: [] };
  window.__e2e = rec;
  function now() { return performance.timeOrigin + performance.now(); }
  function idOf(el) {
    var id = ids.get(el);
    if (!id) { id = ++seq; ids.set(el, id); }
    return id;
  }
  function txt(el, sel) {
    var n = sel ? el.querySelector(sel) : el;
    return n ? (n.textContent || '').replace(/\s+/g, ' ').trim() : '';
  }
  function emit(ev) {
    ev.at_ms = now();
    rec.events.push(ev);
    try { if (typeof window.__e2eEmit === 'function') window.__e2eEmit(JSON.stringify(ev)); } catch (e) {}
  }
  function describe(kind, el) {
    var isToast = kind.indexOf('toast') === 0;
    return {
      kind: kind,
      id: idOf(el),
      class: typeof el.className === 'string' ? el.className : '',
      role: el.getAttribute('role') || '',
      title: isToast ? txt(el, '.dp-toast-title') : txt(el, 'h5'),
      text: isToast ? txt(el, '.dp-toast-message') : txt(el, '.dp-loading-message'),
      html: kind.indexOf('-added') > 0 ? (el.innerHTML || '').slice(0, 500) : '',
      buttons: Array.prototype.map.call(el.querySelectorAll('button'), function (b) { return txt(b); }),
      call: calls.get(el) || 0
    };
  }
  function isToast(n) { return n.nodeType === 1 && n.classList.contains('dp-toast'); }
  function isOverlay(n) { return n.nodeType === 1 && n.id === 'dp-loading-overlay'; }
  function each(n, fn) {
    if (n.nodeType !== 1) return;
    if (isToast(n) || isOverlay(n)) fn(n);
    if (n.querySelectorAll) {
      n.querySelectorAll('.dp-toast, #dp-loading-overlay').forEach(fn);
    }
  }
  function kindOf(el) { return isToast(el) ? 'toast' : 'overlay'; }
  // visibleToasts counts toasts not fading out; a batch of mutations is
  // applied before the next paint, so the count after a batch is what a user
  // can see at once.
  function visibleToasts() {
    return document.querySelectorAll('.dp-toast:not(.dp-toast-hide)').length;
  }
  var lastCount = 0;
  var mo = new MutationObserver(function (list) {
    list.forEach(function (m) {
      if (m.type === 'childList') {
        m.removedNodes.forEach(function (n) { each(n, function (el) { if (!el.isConnected) emit(describe(kindOf(el) + '-removed', el)); }); });
        m.addedNodes.forEach(function (n) { each(n, function (el) { if (el.isConnected) emit(describe(kindOf(el) + '-added', el)); }); });
      } else if (m.type === 'attributes') {
        var el = m.target;
        if (!(isToast(el) || isOverlay(el)) || !el.isConnected) return;
        var old = m.oldValue || '';
        var cls = el.className || '';
        if (isToast(el)) {
          if (/\bdp-toast-show\b/.test(cls) && !/\bdp-toast-show\b/.test(old)) emit(describe('toast-shown', el));
          if (/\bdp-toast-hide\b/.test(cls) && !/\bdp-toast-hide\b/.test(old)) {
            emit(describe('toast-hiding', el));
            // A reference for the documented fade, started in the same task as
            // toast.js's removal timer, so a busy page delays both alike.
            var hid = idOf(el);
            setTimeout(function () { emit({ kind: 'toast-fade-ref', id: hid }); }, FADE_REF_MS);
          }
        } else if (cls !== old) {
          emit(describe('overlay-class', el));
        }
      }
    });
    var n = visibleToasts();
    if (n !== lastCount) { lastCount = n; emit({ kind: 'toast-count', count: n }); }
  });
  mo.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['class'], attributeOldValue: true });
  // Marks let a check put its own steps on the same clock as the DOM events.
  rec.mark = function (name) { emit({ kind: 'mark', text: String(name) }); };
  // call runs fn and tags the toasts it appended synchronously, so a check
  // waits for its own toast, not one the page raised meanwhile (a session
  // bounce). Mutation records are delivered after fn, so the tag is known
  // when the toast is described. 0: fn appended none synchronously.
  rec.call = function (fn) {
    var before = new Set(document.querySelectorAll('.dp-toast'));
    var tag = ++callSeq, n = 0;
    try { fn(); } finally {
      document.querySelectorAll('.dp-toast').forEach(function (e) {
        if (!before.has(e)) { calls.set(e, tag); n++; }
      });
    }
    return n > 0 ? tag : 0;
  };
})();
