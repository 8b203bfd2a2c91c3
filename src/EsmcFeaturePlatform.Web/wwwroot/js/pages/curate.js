// The Curate page (#/curate?status=...): the review queue of the picked SAE. Every version awaiting review can be
// approved or rejected, the latest edited (a new proposed version); the curator key is kept for this browser session.
import { gql } from '../api.js';
import { proposeDescription, reviewDescription } from '../curation.js';
import { errorHtml } from '../errors.js';
import { esc, when, featureHref } from '../format.js';
import { currentSae, curatorKey, setCuratorKey } from '../state.js';

export async function curatePage({ main, params, reload }) {
  const $ = sel => main.querySelector(sel);
  const status = params.get('status') ?? 'PROPOSED';
  main.innerHTML = `<h1>Review queue</h1>
    <form class="card row" id="key-form"><label>Curator key <input type="password" name="key" autocomplete="off" value="${esc(curatorKey())}" style="width:18em"></label>
      <button>Use key</button><button type="button" class="secondary" id="forget">Forget key</button>
      <span class="muted" id="key-state">${curatorKey() ? 'A key is set for this browser session.' : 'No key: you can read the queue, but every action will be refused.'}</span></form>
    <div class="card row"><label>Show <select id="qstatus">${['PROPOSED', 'APPROVED', 'REJECTED'].map(s => `<option ${s === status ? 'selected' : ''}>${s}</option>`).join('')}</select></label>
      <button class="secondary" id="reload">Reload</button></div>
    <div id="queue" style="min-height:50vh"><p class="muted">Loading…</p></div>`;
  $('#key-form').addEventListener('submit', e => {
    e.preventDefault();
    setCuratorKey(e.target.key.value.trim());
    $('#key-state').textContent = e.target.key.value.trim() ? 'Key set for this browser session.' : 'No key.';
  });
  $('#forget').addEventListener('click', () => { setCuratorKey(''); $('#key-form').key.value = ''; $('#key-state').textContent = 'Key forgotten.'; });
  $('#qstatus').addEventListener('change', e => { location.hash = '#/curate?status=' + e.target.value; });
  $('#reload').addEventListener('click', () => reload());
  const host = $('#queue');
  let d;
  try {
    d = await gql(`query Queue($sae: ID!, $status: DescriptionStatus!) { reviewQueue(sae: $sae, status: $status, first: 50) { totalCount pendingVersionCount
        edges { cursor latestVersion latestSource pendingVersions node { sae index descriptions { version label text status source author createdAt score reviewNote reviewer reviewedAt } } } } }`,
      { sae: currentSae(), status });
  } catch (e) { host.innerHTML = errorHtml(e); return; }
  const q = d.reviewQueue;
  host.innerHTML = status === 'PROPOSED'
    ? `<p class="muted">${q.pendingVersionCount} version(s) awaiting review in ${q.totalCount} feature(s).</p>`
    : `<p class="muted">${q.totalCount} feature(s) with a ${esc(status.toLowerCase())} latest version.</p>`;
  for (const e of q.edges) {
    const n = e.node, latest = n.descriptions.find(v => v.version === e.latestVersion) ?? n.descriptions.at(-1);
    // Every version still awaiting review gets its own buttons: an older proposal stays reviewable after a later one.
    const versions = status === 'PROPOSED' ? e.pendingVersions : [e.latestVersion];
    const card = document.createElement('div');
    card.className = 'card queue-item';
    card.dataset.featureIndex = n.index; card.dataset.version = e.latestVersion;
    const who = v => `${esc(v?.source)} · proposed by ${esc(v?.author)} ${esc(when(v?.createdAt))}`
      + (v?.reviewer ? ` · ${esc(v.status.toLowerCase())} by ${esc(v.reviewer)} ${esc(when(v.reviewedAt))}` : '');
    card.innerHTML = `<h2 style="margin:0 0 6px"><a href="${featureHref(n.index, n.sae)}">#${n.index}</a> · latest v${e.latestVersion}</h2>
      ${versions.map(ver => { const v = n.descriptions.find(x => x.version === ver); return `<div class="pending" data-version="${ver}">
        <div class="row" style="justify-content:space-between"><b>v${ver} ${esc(v?.label ?? '')} <span class="badge ${esc(v?.status)}">${esc(v?.status)}</span></b>
          <span class="muted">${who(v)}</span></div>
        <p>${esc(v?.text ?? '')}</p>
        <div class="row"><label>Note <input type="text" name="note" style="width:22em"></label>
          <button data-act="APPROVE">Approve v${ver}</button><button data-act="REJECT" class="secondary">Reject v${ver}</button></div>
        <div class="status" role="status"></div></div>`; }).join('')}
      <div class="row"><button data-act="edit" class="secondary">Edit the latest…</button></div>
      <form class="edit" hidden><div class="row"><label>Label <input type="text" name="label" value="${esc(latest?.label ?? '')}" style="width:24em" required></label></div>
        <label>Text <textarea name="text" required>${esc(latest?.text ?? '')}</textarea></label>
        <button>Propose version ${e.latestVersion + 1}</button></form>
      <div class="status edit-status" role="status"></div>`;
    const show = (out, ok, msg) => { out.innerHTML = ok ? `<span class="ok">${esc(msg)}</span>` : errorHtml(msg); };
    card.querySelectorAll('.pending').forEach(block => block.querySelectorAll('button[data-act=APPROVE], button[data-act=REJECT]').forEach(b => b.addEventListener('click', async () => {
      const out = block.querySelector('.status');
      try {
        const r = await reviewDescription({ sae: n.sae, index: n.index, version: Number(block.dataset.version), decision: b.dataset.act, note: block.querySelector('[name=note]').value || null });
        show(out, true, `Version ${r.version} is now ${r.status} (reviewer: ${r.reviewer}).`);
      } catch (err) { show(out, false, err); }
    })));
    card.querySelector('button[data-act=edit]').addEventListener('click', () => { const f = card.querySelector('form.edit'); f.hidden = !f.hidden; if (!f.hidden) f.label.focus(); });
    card.querySelector('form.edit').addEventListener('submit', async ev => {
      ev.preventDefault();
      const f = ev.target, out = card.querySelector('.edit-status');
      try {
        const version = await proposeDescription({ sae: n.sae, index: n.index, label: f.label.value, text: f.text.value, expected: e.latestVersion });
        show(out, true, `Saved as version ${version} (proposed).`);
      } catch (err) { show(out, false, err); }
    });
    host.append(card);
  }
  host.dataset.ready = 'true';
}
