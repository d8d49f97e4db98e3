/*
 * detail-ahsp.js — the rincian (TK/BHN/ALT/LAIN rows) of one pekerjaan.
 * Pick a pekerjaan (#pekerjaan-select, or ?pekerjaan=ID in the URL); loads
 * GET detail-ahsp/{id}/. Custom rows are editable and saved replace-all with
 * POST detail-ahsp/{id}/save/ {rows, client_updated_at}; a 409 (someone else
 * saved first) shows a warning and keeps the edits on screen.
 */
import { jfetch } from './pages/api.js';
import { LoadingManager } from './pages/ui.js';
import { api, $, h, busy, fmt, toast, failed, errorList, setStatus, localNumber } from './pages/common.js';

const select = $('#pekerjaan-select');
const tbody = $('#detail-rows');
const status = $('#detail-status');
const btnSave = $('#btn-save-detail');
const btnAdd = $('#btn-add-row');

let current = null; // {pekerjaan, meta}
let kategoriOpts = ['TK', 'BHN', 'ALT', 'LAIN'];

function optionValue(o) {
  return typeof o === 'object' && o !== null ? String(o.value ?? o.code ?? o.id) : String(o);
}
function optionLabel(o) {
  return typeof o === 'object' && o !== null ? String(o.label ?? o.name ?? optionValue(o)) : String(o);
}

const loadList = () => busy(async () => {
  try {
    const tree = await jfetch(api('list-pekerjaan/tree/'));
    const groups = [];
    for (const k of tree.klasifikasi || []) {
      for (const s of k.sub || []) {
        groups.push(h('optgroup', { label: `${k.name} › ${s.name}` },
          ...(s.pekerjaan || []).map((p) => h('option', { value: p.id }, `${p.snapshot_kode || ''} — ${p.snapshot_uraian || ''}`))));
      }
    }
    select.replaceChildren(h('option', { value: '' }, '— pilih pekerjaan —'), ...groups);
    const want = new URLSearchParams(location.search).get('pekerjaan');
    if (want && select.querySelector(`option[value="${CSS.escape(want)}"]`)) {
      select.value = want;
      await loadDetail(want);
    }
  } catch (err) {
    failed(err, 'Gagal memuat daftar pekerjaan');
  }
});

function row(item, readOnly) {
  const dis = readOnly ? true : undefined;
  const kat = h('select', { 'data-field': 'kategori', 'aria-label': 'Kategori', disabled: dis },
    ...kategoriOpts.map((o) => h('option', { value: optionValue(o) }, optionLabel(o))));
  kat.value = item.kategori || optionValue(kategoriOpts[0]);
  const input = (field, label, extra = {}) =>
    h('input', { 'data-field': field, 'aria-label': label, value: item[field] ?? '', disabled: dis, ...extra });
  return h('tr', { 'data-item-id': item.id || '', 'data-testid': 'detail-row' },
    h('td', {}, kat),
    h('td', {}, input('kode', 'Kode', { maxlength: 50 })),
    h('td', {}, input('uraian', 'Uraian', { maxlength: 500 })),
    h('td', {}, input('satuan', 'Satuan', { maxlength: 50 })),
    h('td', { class: 'num' }, input('koefisien', 'Koefisien', { inputmode: 'decimal' })),
    h('td', { class: 'num' }, item.harga_satuan === undefined ? '–' : fmt(item.harga_satuan)),
    h('td', {}, readOnly ? '' : h('button', {
      type: 'button', class: 'btn-danger-link', 'aria-label': 'Hapus baris', title: 'Hapus baris', 'data-testid': 'btn-remove-row',
      onclick: (ev) => ev.target.closest('tr').remove(),
    }, '×')));
}

function render(data) {
  const p = data.pekerjaan || {};
  const meta = data.meta || {};
  if (Array.isArray(meta.kategori_opts) && meta.kategori_opts.length) kategoriOpts = meta.kategori_opts;
  const readOnly = Boolean(meta.read_only);
  current = { pekerjaan: p, meta };
  $('#detail-info').hidden = false;
  $('#detail-kode').textContent = p.kode || '';
  $('#detail-uraian').textContent = p.uraian || '';
  $('#detail-satuan').textContent = p.satuan ? `satuan: ${p.satuan}` : '';
  $('#detail-source').textContent = p.source_type || '';
  $('#detail-readonly').hidden = !readOnly;
  const items = data.items || [];
  tbody.replaceChildren(...items.map((it) => row(it, readOnly)));
  if (!items.length && readOnly) tbody.append(h('tr', {}, h('td', { colspan: 7, class: 'dp-muted' }, 'Belum ada rincian.')));
  btnSave.disabled = readOnly;
  btnAdd.disabled = readOnly;
  setStatus(status, readOnly
    ? `${items.length} baris · pekerjaan referensi tidak dapat diubah`
    : `${items.length} baris · terakhir diubah ${p.updated_at || '–'}`);
}

const loadDetail = (id) => busy(async () => {
  current = null;
  btnSave.disabled = true;
  btnAdd.disabled = true;
  if (!id) {
    tbody.replaceChildren();
    $('#detail-info').hidden = true;
    setStatus(status, 'Pilih pekerjaan untuk melihat rinciannya.');
    return;
  }
  setStatus(status, 'Memuat rincian…');
  try {
    render(await jfetch(api(`detail-ahsp/${encodeURIComponent(id)}/`)));
  } catch (err) {
    setStatus(status, 'Gagal memuat rincian.');
    failed(err, 'Gagal memuat rincian');
  }
});

function collect() {
  return [...tbody.querySelectorAll('tr')].map((tr) => {
    const v = (f) => tr.querySelector(`[data-field="${f}"]`).value.trim();
    // The koefisien as shown ("0.750000", or typed "0,75") goes as a JSON number.
    return { kategori: v('kategori'), kode: v('kode'), uraian: v('uraian'), satuan: v('satuan'), koefisien: localNumber(v('koefisien')) };
  });
}

const save = () => busy(async () => {
  if (!current) return;
  const id = current.pekerjaan.id;
  btnSave.disabled = true;
  try {
    const res = await LoadingManager.wrap(
      () => jfetch(api(`detail-ahsp/${id}/save/`), {
        method: 'POST',
        body: { rows: collect(), client_updated_at: current.pekerjaan.updated_at },
      }),
      'Menyimpan rincian…');
    const errs = errorList(res);
    if (errs.length) {
      toast.warning(`Sebagian baris gagal disimpan:\n${errs.slice(0, 3).join('\n')}`, { title: 'Tersimpan sebagian' });
    } else {
      toast.success('Data berhasil disimpan');
    }
    await loadDetail(id);
  } catch (err) {
    if (err && err.status === 409) {
      const msg = (err.data && err.data.user_message) || 'Data telah diubah oleh pengguna lain. Muat ulang untuk melihat versi terbaru.';
      toast.warning(msg, { title: 'Konflik data', duration: 5000 });
      setStatus(status, 'Konflik: data di server lebih baru. Pilih ulang pekerjaan untuk memuat versi terbaru.');
    } else {
      failed(err, 'Gagal menyimpan rincian');
    }
  } finally {
    btnSave.disabled = !current || Boolean(current.meta.read_only);
  }
});

select.addEventListener('change', () => {
  const url = new URL(location.href);
  if (select.value) url.searchParams.set('pekerjaan', select.value);
  else url.searchParams.delete('pekerjaan');
  history.replaceState(null, '', url);
  loadDetail(select.value);
});
btnAdd.addEventListener('click', () => {
  const tr = row({ kategori: optionValue(kategoriOpts[0]), koefisien: '' }, false);
  tbody.append(tr);
  tr.querySelector('[data-field="kode"]').focus();
});
btnSave.addEventListener('click', save);
loadList();
