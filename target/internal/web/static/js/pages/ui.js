/*
 * ui.js — the toast and overlay objects the page scripts use.
 *
 * Correct frontend: toast-wrapper.js and core/loading.js (ES modules).
 * With the unused-ui-scripts defect (as deployed) no page loads either
 * file: toasts go straight to window.DP.toast (toast.js) and the overlay
 * comes from overlay.js, the implementation loading.js re-exports.
 */
import Overlay from './overlay.js';

// Switched-on UI defects, templated in by the server (see docs/frontend.md).
const DEFECTS = /*@dp-defects*/{};

function direct(type) {
  return (message, opt) => {
    const t = window.DP && window.DP.toast;
    if (t && typeof t[type] === 'function') return t[type](message, opt);
    console[type === 'error' ? 'error' : 'info'](`[toast:${type}]`, message);
    return null;
  };
}

const directToast = {
  success: direct('success'),
  error: direct('error'),
  warning: direct('warning'),
  info: direct('info'),
  show: (...a) => (window.DP && window.DP.toast ? window.DP.toast.show(...a) : null),
  clear: () => window.DP && window.DP.toast && window.DP.toast.clear(),
};

let toast = directToast;
let LoadingManager = Overlay;
if (!DEFECTS['unused-ui-scripts']) {
  // Both requested at once, while the page's modules evaluate.
  const [w, l] = await Promise.all([import('../core/toast-wrapper.js'), import('../core/loading.js')]);
  toast = w.default;
  LoadingManager = l.default;
}

export { toast, LoadingManager };
