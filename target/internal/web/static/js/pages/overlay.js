/*
 * overlay.js — the LoadingManager implementation (ES module). core/loading.js
 * exports it (and window.DP.core.loading); pages get it through ui.js.
 *
 *   show(message)            full-screen loader #dp-loading-overlay
 *   hide()                   fades the loader out (FADE_MS) and removes it
 *   wrap(promiseOrFn, msg)   show, await, hide (also on failure); returns the result
 *   showError({title, message, actions, onClose})
 *       error overlay: h5 title, .dp-loading-message, one button per action
 *       (button[data-action-index], .btn-primary when primary, else
 *       .btn-outline-secondary) or a default button[data-action="close"]
 *       "Tutup". Clicking calls onClick(event); the overlay closes unless the
 *       action says closeAfter:false; onClose runs once when it closes.
 *       Returns {element, close()}.
 *
 * There is never more than one overlay: show/showError replace the current
 * one, and hide's fade timer removes only the loader it faded, so a
 * showError during the fade survives. All text is set with textContent.
 */

// Switched-on UI defects, templated in by the server (see docs/frontend.md).
const DEFECTS = /*@dp-defects*/{};

const OVERLAY_ID = 'dp-loading-overlay';
const FADE_MS = 200;

// current: {kind: 'loading'|'error', element, fadeTimer, onClose}
let current = null;

function setText(el, text) {
  if (DEFECTS['unescaped-ui']) {
    el.innerHTML = text;
  } else {
    el.textContent = text;
  }
}

// discard removes the current overlay at once, without its onClose.
function discard() {
  if (!current) return;
  if (!DEFECTS['loader-race']) clearTimeout(current.fadeTimer);
  current.element.remove();
  current = null;
}

function mount(kind, build) {
  discard();
  const el = document.createElement('div');
  el.id = OVERLAY_ID;
  el.className = 'dp-loading-overlay' + (kind === 'error' ? ' dp-loading-error' : '');
  el.setAttribute('data-kind', kind);
  const content = document.createElement('div');
  content.className = 'dp-loading-content';
  el.appendChild(content);
  build(el, content);
  (document.body || document.documentElement).appendChild(el);
  current = { kind, element: el, fadeTimer: null, onClose: null };
  return current;
}

function show(message = 'Memuat…') {
  if (current && current.kind === 'loading' && !current.fadeTimer) {
    current.element.querySelector('.dp-loading-message').textContent = String(message);
    return current.element;
  }
  return mount('loading', (el, content) => {
    el.setAttribute('role', 'status');
    el.setAttribute('aria-live', 'polite');
    el.setAttribute('aria-busy', 'true');
    const spinner = document.createElement('div');
    spinner.className = 'dp-loading-spinner';
    spinner.setAttribute('aria-hidden', 'true');
    const msg = document.createElement('p');
    msg.className = 'dp-loading-message';
    msg.textContent = String(message);
    content.append(spinner, msg);
  }).element;
}

function hide() {
  const c = current;
  if (!c || c.kind !== 'loading' || c.fadeTimer) return;
  c.element.classList.add('dp-loading-hide');
  c.fadeTimer = setTimeout(() => {
    if (DEFECTS['loader-race']) {
      // The defect: remove whatever overlay exists now, even a newer one.
      const el = document.getElementById(OVERLAY_ID);
      if (el) el.remove();
      if (current && current.element === el) current = null;
      return;
    }
    if (current === c) current = null;
    c.element.remove();
  }, FADE_MS);
}

async function wrap(work, message) {
  show(message);
  try {
    return await (typeof work === 'function' ? work() : work);
  } finally {
    hide();
  }
}

function showError({ title = 'Terjadi Kesalahan', message = 'Terjadi kesalahan. Silakan coba lagi.', actions = [], onClose } = {}) {
  let closed = false;
  const c = mount('error', (el, content) => {
    el.setAttribute('role', 'alertdialog');
    el.setAttribute('aria-modal', 'true');
    el.setAttribute('aria-labelledby', 'dp-loading-error-title');
    const h = document.createElement('h5');
    h.id = 'dp-loading-error-title';
    setText(h, String(title));
    const msg = document.createElement('p');
    msg.className = 'dp-loading-message';
    setText(msg, String(message));
    const bar = document.createElement('div');
    bar.className = 'dp-loading-actions';
    const list = Array.isArray(actions) ? actions.filter(Boolean) : [];
    list.forEach((a, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn ' + (a.primary ? 'btn-primary' : 'btn-outline-secondary');
      b.setAttribute('data-action-index', String(i));
      setText(b, String(a.label ?? 'OK'));
      b.addEventListener('click', (ev) => {
        try {
          if (typeof a.onClick === 'function') a.onClick(ev);
        } catch (err) {
          console.warn('LoadingManager action failed:', err);
        }
        if (a.closeAfter !== false) close();
      });
      bar.appendChild(b);
    });
    if (list.length === 0) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn btn-primary';
      b.setAttribute('data-action', 'close');
      b.textContent = 'Tutup';
      b.addEventListener('click', () => close());
      bar.appendChild(b);
    }
    content.append(h, msg, bar);
  });
  function close() {
    if (closed) return;
    closed = true;
    if (current === c) current = null;
    c.element.remove();
    if (typeof onClose === 'function') {
      try {
        onClose();
      } catch (err) {
        console.warn('LoadingManager onClose failed:', err);
      }
    }
  }
  c.onClose = close;
  const first = c.element.querySelector('.btn-primary, button');
  if (first) first.focus();
  return { element: c.element, close };
}

// isVisible reports whether an overlay (loader or error) is on screen.
function isVisible() {
  return current !== null;
}

export const LoadingManager = { show, hide, wrap, showError, isVisible, FADE_MS };
export default LoadingManager;
