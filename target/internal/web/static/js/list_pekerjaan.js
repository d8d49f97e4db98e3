/*
 * list-pekerjaan.js — the work breakdown tree (klasifikasi > sub > pekerjaan).
 * Loads GET list-pekerjaan/tree/, edits a local copy (add/remove rows) and
 * saves the whole tree with POST list-pekerjaan/upsert/ (rows keep their id;
 * rows left out are deleted by the server). Element ids: docs/frontend.md.
 */
import { jfetch } from './pages/api.js';
import { LoadingManager } from './pages/ui.js';
import { api, $, h, busy, toast, failed, errorList, setStatus } from './pages/common.js';

let tree = [];
let dirty = 0;
let tempSeq = 0;
let filter = '';

const els = {
  tree: $('#tree'),
  status: $('#tree-status'),
  subK: $('#sub-klasifikasi'),
  pekSub: $('#pekerjaan-sub'),
  source: $('#pekerjaan-source'),
  refSelect: $('#pekerjaan-ref-id'),
};

const key = (n) => (n.id ? `id:${n.id}` : `tmp:${n.temp_id}`);
const newTemp = (prefix) => `${prefix}-new-${++tempSeq}`;

function counts() {
  let s = 0;
  let p = 0;
  for (const k of tree) {
    s += k.sub.length;
    for (const sub of k.sub) p += sub.pekerjaan.length;
  }
  return `${tree.length} klasifikasi, ${s} sub, ${p} pekerjaan`;
}

function updateStatus() {
  setStatus(els.status, dirty ? `${counts()} · ${dirty} perubahan belum disimpan` : counts());
}

function matches(p) {
  if (!filter) return true;
  const hay = `${p.snapshot_kode || ''} ${p.snapshot_uraian || ''}`.toLowerCase();
  return hay.includes(filter);
}

function removeBtn(label, onclick) {
  return h('button', { type: 'button', class: 'btn-danger-link', 'aria-label': label, title: label, onclick }, '×');
}

function render() {
  const root = h('ul', { 'data-testid': 'tree-root' });
  tree.forEach((k, ki) => {
    const subs = h('ul');
    k.sub.forEach((s, si) => {
      const jobs = h('ul');
      s.pekerjaan.filter(matches).forEach((p) => {
        const pi = s.pekerjaan.indexOf(p);
        jobs.append(
          h('li', { 'data-node': 'pekerjaan', 'data-pekerjaan-id': p.id || '', 'data-testid': 'node-pekerjaan' },
            h('div', { class: `dp-node${p.id ? '' : ' dp-node-new'}` },
              h('span', { class: 'dp-node-kode' }, p.snapshot_kode || (p.source_type === 'ref' ? `ref #${p.ref_id}` : 'baru')),
              h('span', { class: 'dp-node-uraian' }, p.snapshot_uraian || ''),
              h('span', { class: 'dp-muted' }, p.snapshot_satuan || ''),
              h('span', { class: 'dp-badge' }, p.source_type),
              h('span', { class: 'dp-spacer' }),
              removeBtn('Hapus pekerjaan', () => { s.pekerjaan.splice(pi, 1); changed(); }))));
      });
      subs.append(
        h('li', { 'data-node': 'sub', 'data-sub-id': s.id || '', 'data-testid': 'node-sub' },
          h('div', { class: `dp-node dp-node-sub${s.id ? '' : ' dp-node-new'}` },
            h('span', {}, s.name), h('span', { class: 'dp-spacer' }),
            removeBtn('Hapus sub klasifikasi', () => { k.sub.splice(si, 1); changed(); })),
          jobs));
    });
    root.append(
      h('li', { 'data-node': 'klasifikasi', 'data-klasifikasi-id': k.id || '', 'data-testid': 'node-klasifikasi' },
        h('div', { class: `dp-node dp-node-klasifikasi${k.id ? '' : ' dp-node-new'}` },
          h('span', {}, k.name), h('span', { class: 'dp-spacer' }),
          removeBtn('Hapus klasifikasi', () => { tree.splice(ki, 1); changed(); })),
        subs));
  });
  els.tree.replaceChildren(tree.length ? root : h('p', { class: 'dp-muted' }, 'Belum ada pekerjaan. Tambahkan klasifikasi di bawah.'));
  fillSelects();
  updateStatus();
}

function fillSelects() {
  const keepK = els.subK.value;
  const keepS = els.pekSub.value;
  els.subK.replaceChildren(...tree.map((k) => h('option', { value: key(k) }, k.name)));
  els.pekSub.replaceChildren(
    ...tree.map((k) => h('optgroup', { label: k.name }, ...k.sub.map((s) => h('option', { value: key(s) }, s.name)))));
  // Keep the previous choice when it still exists; else the first option.
  if (keepK && els.subK.querySelector(`option[value="${CSS.escape(keepK)}"]`)) els.subK.value = keepK;
  if (keepS && els.pekSub.querySelector(`option[value="${CSS.escape(keepS)}"]`)) els.pekSub.value = keepS;
}

function changed() {
  dirty++;
  render();
}

function normalize(data) {
  return (data.klasifikasi || []).map((k) => ({
    id: k.id, name: k.name, ordering_index: k.ordering_index,
    sub: (k.sub || []).map((s) => ({
      id: s.id, name: s.name, ordering_index: s.ordering_index,
      pekerjaan: (s.pekerjaan || []).map((p) => ({ ...p })),
    })),
  }));
}

const load = () => busy(async () => {
  setStatus(els.status, 'Memuat data…');
  try {
    const data = await jfetch(api('list-pekerjaan/tree/'));
    tree = normalize(data);
    dirty = 0;
    render();
  } catch (err) {
    setStatus(els.status, 'Gagal memuat data.');
    failed(err, 'Gagal memuat daftar pekerjaan');
  }
});

// payload is the upsert body: the whole tree, ids for existing rows,
// temp_id for new ones, ordering by position.
function payload() {
  return {
    klasifikasi: tree.map((k, ki) => ({
      ...(k.id ? { id: k.id } : { temp_id: k.temp_id }),
      name: k.name,
      ordering_index: ki + 1,
      sub: k.sub.map((s, si) => ({
        ...(s.id ? { id: s.id } : { temp_id: s.temp_id }),
        name: s.name,
        ordering_index: si + 1,
        pekerjaan: s.pekerjaan.map((p, pi) => {
          const row = { source_type: p.source_type, ordering_index: pi + 1 };
          if (p.id) row.id = p.id;
          else row.temp_id = p.temp_id;
          if (p.ref_id) row.ref_id = p.ref_id;
          if (p.source_type !== 'ref') {
            row.snapshot_uraian = p.snapshot_uraian || '';
            row.snapshot_satuan = p.snapshot_satuan || '';
          }
          return row;
        }),
      })),
    })),
  };
}

const save = () => busy(async () => {
  const btn = $('#btn-save-tree');
  btn.disabled = true;
  try {
    const res = await LoadingManager.wrap(
      () => jfetch(api('list-pekerjaan/upsert/'), { method: 'POST', body: payload() }),
      'Menyimpan…');
    const errs = errorList(res);
    if (res && res.ok && errs.length === 0) {
      toast.success('Data berhasil disimpan');
    } else {
      toast.warning(`Sebagian data gagal disimpan:\n${errs.slice(0, 3).join('\n')}`, { title: 'Tersimpan sebagian' });
    }
    await load();
  } catch (err) {
    failed(err, 'Gagal menyimpan');
  } finally {
    btn.disabled = false;
  }
});

function findByKey(list, k) {
  return list.find((n) => key(n) === k);
}

$('#form-add-klasifikasi').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $('#klasifikasi-name');
  const name = input.value.trim();
  if (!name) return;
  tree.push({ temp_id: newTemp('k'), name, sub: [] });
  input.value = '';
  changed();
  els.subK.value = key(tree[tree.length - 1]);
});

$('#form-add-sub').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const k = findByKey(tree, els.subK.value);
  const input = $('#sub-name');
  const name = input.value.trim();
  if (!k) {
    toast.warning('Tambahkan atau pilih klasifikasi terlebih dahulu.');
    return;
  }
  if (!name) return;
  const s = { temp_id: newTemp('s'), name, pekerjaan: [] };
  k.sub.push(s);
  input.value = '';
  changed();
  els.pekSub.value = key(s);
});

$('#form-add-pekerjaan').addEventListener('submit', (ev) => {
  ev.preventDefault();
  let sub = null;
  for (const k of tree) sub = sub || findByKey(k.sub, els.pekSub.value);
  if (!sub) {
    toast.warning('Tambahkan atau pilih sub klasifikasi terlebih dahulu.');
    return;
  }
  const p = { temp_id: newTemp('p'), source_type: els.source.value };
  if (p.source_type === 'ref') {
    const opt = els.refSelect.selectedOptions[0];
    if (!opt || !opt.value) {
      toast.warning('Cari dan pilih AHSP referensi terlebih dahulu.');
      return;
    }
    p.ref_id = Number(opt.value);
    p.snapshot_kode = opt.dataset.kode || '';
    p.snapshot_uraian = opt.dataset.nama || opt.textContent;
    p.snapshot_satuan = opt.dataset.satuan || '';
  } else {
    p.snapshot_uraian = $('#pekerjaan-uraian').value.trim();
    p.snapshot_satuan = $('#pekerjaan-satuan').value.trim();
    if (!p.snapshot_uraian) {
      toast.warning('Uraian pekerjaan wajib diisi.');
      return;
    }
    $('#pekerjaan-uraian').value = '';
    $('#pekerjaan-satuan').value = '';
  }
  sub.pekerjaan.push(p);
  changed();
});

els.source.addEventListener('change', () => {
  const ref = els.source.value === 'ref';
  $('#pekerjaan-ref-fields').hidden = !ref;
  $('#pekerjaan-custom-fields').hidden = ref;
});

const searchAhsp = () => busy(async () => {
  const q = $('#ahsp-search').value.trim();
  try {
    const data = await jfetch(api(`search-ahsp/?q=${encodeURIComponent(q)}&limit=20`));
    const results = data.results || [];
    els.refSelect.replaceChildren(
      ...results.map((r) => h('option', { value: r.id, 'data-kode': r.kode_ahsp, 'data-nama': r.nama_ahsp, 'data-satuan': r.satuan }, r.text)));
    if (!results.length) toast.info('Tidak ada AHSP yang cocok.');
  } catch (err) {
    failed(err, 'Pencarian AHSP gagal');
  }
});

$('#btn-ahsp-search').addEventListener('click', searchAhsp);
$('#ahsp-search').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') {
    ev.preventDefault();
    searchAhsp();
  }
});
$('#tree-search').addEventListener('input', (ev) => {
  filter = ev.target.value.trim().toLowerCase();
  render();
});
$('#btn-reload-tree').addEventListener('click', load);
$('#btn-save-tree').addEventListener('click', save);

load();
