/*
 * volume.js — one quantity input per pekerjaan. Loads GET list-pekerjaan/tree/
 * (names) and GET volume-pekerjaan/list/ (quantities); saves with
 * POST volume-pekerjaan/save/ {"items":[{pekerjaan_id, quantity}]}, quantity
 * read as shown ("12,5", "1.234,56") into a JSON number (localNumber).
 */
import { jfetch } from './pages/api.js';
import { LoadingManager } from './pages/ui.js';
import { api, $, h, busy, toast, failed, errorList, setStatus, localNumber } from './pages/common.js';

// Switched-on UI defects, templated in by the server (see docs/frontend.md).
const DEFECTS = /*@dp-defects*/{};

const tbody = $('#volume-rows');
const status = $('#volume-status');
let rows = []; // {id, kode, uraian, satuan}

function flatten(tree) {
  const out = [];
  for (const k of tree.klasifikasi || []) {
    for (const s of k.sub || []) {
      for (const p of s.pekerjaan || []) {
        out.push({ id: p.id, kode: p.snapshot_kode, uraian: p.snapshot_uraian, satuan: p.snapshot_satuan, group: `${k.name} › ${s.name}` });
      }
    }
  }
  return out;
}

// uraianCell shows a stored uraian as text (as HTML with unescaped-stored).
function uraianCell(text) {
  const td = h('td', {}, DEFECTS['unescaped-stored'] ? '' : text);
  if (DEFECTS['unescaped-stored']) td.innerHTML = text;
  return td;
}

function render(quantities) {
  let group = null;
  const trs = [];
  for (const r of rows) {
    if (r.group !== group) {
      group = r.group;
      trs.push(h('tr', { class: 'dp-group' }, h('th', { colspan: 4 }, group)));
    }
    trs.push(
      h('tr', { 'data-pekerjaan-id': r.id },
        h('td', { class: 'dp-node-kode' }, r.kode || ''),
        uraianCell(r.uraian || ''),
        h('td', {}, r.satuan || ''),
        h('td', { class: 'num' },
          h('input', {
            id: `volume-${r.id}`, 'data-testid': `volume-input-${r.id}`, 'data-pekerjaan-id': r.id,
            inputmode: 'decimal', autocomplete: 'off', 'aria-label': `Volume ${r.uraian || r.kode}`,
            value: quantities.get(r.id) ?? '',
          }))));
  }
  tbody.replaceChildren(...(trs.length ? trs : [h('tr', {}, h('td', { colspan: 4, class: 'dp-muted' }, 'Belum ada pekerjaan.'))]));
  setStatus(status, `${rows.length} pekerjaan`);
}

const load = () => busy(async () => {
  setStatus(status, 'Memuat data…');
  try {
    const [tree, vols] = await Promise.all([jfetch(api('list-pekerjaan/tree/')), jfetch(api('volume-pekerjaan/list/'))]);
    rows = flatten(tree);
    const q = new Map();
    for (const it of vols.items || []) {
      // "12.500" is shown as "12,5": Indonesian decimal comma, no padding.
      const n = Number(it.quantity);
      if (it.quantity !== null && it.quantity !== undefined && Number.isFinite(n)) q.set(Number(it.pekerjaan_id), String(n).replace('.', ','));
    }
    render(q);
  } catch (err) {
    setStatus(status, 'Gagal memuat data.');
    failed(err, 'Gagal memuat volume');
  }
});

const save = () => busy(async () => {
  const inputs = [...tbody.querySelectorAll('input[data-pekerjaan-id]')];
  inputs.forEach((i) => i.classList.remove('dp-invalid'));
  const sent = inputs.filter((i) => i.value.trim() !== '');
  if (!sent.length) {
    toast.info('Tidak ada volume untuk disimpan.');
    return;
  }
  const items = sent.map((i) => ({ pekerjaan_id: Number(i.dataset.pekerjaanId), quantity: localNumber(i.value) }));
  const btn = $('#btn-save-volume');
  btn.disabled = true;
  try {
    const res = await LoadingManager.wrap(
      () => jfetch(api('volume-pekerjaan/save/'), { method: 'POST', body: { items } }),
      'Menyimpan volume…');
    const errs = errorList(res);
    markInvalid(res, sent);
    if (errs.length) {
      toast.warning(`${res.saved ?? 0} volume tersimpan, ${errs.length} gagal:\n${errs.slice(0, 3).join('\n')}`, { title: 'Tersimpan sebagian' });
    } else {
      toast.success('Data berhasil disimpan');
    }
    setStatus(status, `${rows.length} pekerjaan · ${res.saved ?? items.length} volume tersimpan`);
  } catch (err) {
    if (err && err.data) markInvalid(err.data, sent);
    failed(err, 'Gagal menyimpan volume');
  } finally {
    btn.disabled = false;
  }
});

// markInvalid outlines the inputs named by error paths like "items[2].quantity".
function markInvalid(data, sent) {
  for (const e of (data && data.errors) || []) {
    const m = /\[(\d+)\]/.exec((e && e.path) || '');
    if (m && sent[Number(m[1])]) sent[Number(m[1])].classList.add('dp-invalid');
  }
}

$('#btn-save-volume').addEventListener('click', save);
$('#btn-reload-volume').addEventListener('click', load);
load();
