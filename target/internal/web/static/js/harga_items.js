/*
 * harga_items.js — unit prices of the items the project's rincian use, and
 * the project's profit/margin. Endpoints from #hi-app[data-endpoint-list]
 * (GET harga-items/list/) and [data-endpoint-save] (POST harga-items/save/
 * {items:[{id, harga_satuan}], markup_percent, client_updated_at}).
 */
import { jfetch } from './pages/api.js';
import { LoadingManager } from './pages/ui.js';
import { $, h, busy, toast, failed, errorList, setStatus, localNumber } from './pages/common.js';

const app = $('#hi-app');
const tbody = $('#harga-rows');
const status = $('#harga-status');
const markup = $('#harga-markup');
let updatedAt = null;

function render(items) {
  tbody.replaceChildren(...(items.length ? items.map((it) =>
    h('tr', { 'data-item-id': it.id, 'data-testid': 'harga-row' },
      h('td', { class: 'dp-node-kode' }, it.kode_item || ''),
      h('td', {}, it.kategori || ''),
      h('td', {}, it.uraian || ''),
      h('td', {}, it.satuan || ''),
      h('td', { class: 'num' },
        h('input', { 'data-item-id': it.id, inputmode: 'decimal', autocomplete: 'off', 'aria-label': `Harga ${it.uraian || it.kode_item}`,
          value: it.harga_satuan === null || it.harga_satuan === undefined ? '' : String(it.harga_satuan) })))) :
    [h('tr', {}, h('td', { colspan: 5, class: 'dp-muted' }, 'Belum ada item.'))]));
  setStatus(status, `${items.length} item`);
}

const load = () => busy(async () => {
  setStatus(status, 'Memuat data…');
  try {
    const data = await jfetch(app.dataset.endpointList);
    updatedAt = (data.meta && data.meta.project_updated_at) || null;
    if (data.meta && data.meta.markup_percent !== undefined) markup.value = String(data.meta.markup_percent);
    render(data.items || []);
  } catch (err) {
    setStatus(status, 'Gagal memuat data.');
    failed(err, 'Gagal memuat harga');
  }
});

const save = () => busy(async () => {
  const items = [...tbody.querySelectorAll('input[data-item-id]')]
    .filter((i) => i.value.trim() !== '')
    .map((i) => ({ id: Number(i.dataset.itemId), harga_satuan: localNumber(i.value) }));
  const body = { items, client_updated_at: updatedAt };
  // Prices and markup as shown ("1500.00", or typed "1.500,00") go as JSON numbers.
  if (markup.value.trim() !== '') body.markup_percent = localNumber(markup.value);
  try {
    const res = await LoadingManager.wrap(() => jfetch(app.dataset.endpointSave, { method: 'POST', body }), 'Menyimpan harga…');
    updatedAt = res.project_updated_at || updatedAt;
    const errs = errorList(res);
    if (errs.length) toast.warning(errs.slice(0, 3).join('\n'), { title: 'Tersimpan sebagian' });
    else toast.success('Data berhasil disimpan');
  } catch (err) {
    if (err && err.status === 409) {
      toast.warning((err.data && err.data.user_message) || 'Data telah berubah.', { title: 'Konflik' });
      return;
    }
    failed(err, 'Gagal menyimpan harga');
  }
});

$('#btn-save-harga').addEventListener('click', save);
$('#btn-reload-harga').addEventListener('click', load);
load();
