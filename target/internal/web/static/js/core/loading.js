/*
 * loading.js — LoadingManager (ES module; also window.DP.core.loading).
 *
 *   import LoadingManager from '/static/detail_project/js/core/loading.js';
 *   show(message)            full-screen loader #dp-loading-overlay
 *   hide()                   fades the loader out (FADE_MS) and removes it
 *   wrap(promiseOrFn, msg)   show, await, hide (also on failure); returns the result
 *   showError({title, message, actions, onClose})  error overlay
 *
 * The implementation lives in ../pages/overlay.js (docs/frontend.md), so a
 * page can use the overlay without loading this file, as the deployed app's
 * pages never do.
 */
import LoadingManager from '../pages/overlay.js';

const DP = (window.DP = window.DP || {});
DP.core = DP.core || {};
DP.core.loading = LoadingManager;

export { LoadingManager };
export default LoadingManager;
