// The Search page (#/search?q=...&status=...&all=1&after=...): feature labels and descriptions, best first, with the
// matched words highlighted, twenty a page.
import { gql } from '../api.js';
import { errorHtml } from '../errors.js';
import { esc, fmt, highlight, featureHref } from '../format.js';
import { currentSae } from '../state.js';

export async function searchPage({ main, params }) {
  const $ = sel => main.querySelector(sel);
  const q = params.get('q') ?? '', status = params.get('status') ?? '', after = params.get('after') ?? '', all = params.get('all') === '1';
  main.innerHTML = `<h1>Search feature descriptions</h1>
    <form class="card row" id="search-form" role="search">
      <input type="search" name="q" value="${esc(q)}" placeholder="e.g. zinc finger, helix, signal peptide" aria-label="Search descriptions" style="flex:1;min-width:14em">
      <label>Status <select name="status"><option value="">any</option>${['APPROVED', 'PROPOSED', 'REJECTED'].map(s => `<option ${s === status ? 'selected' : ''}>${s}</option>`).join('')}</select></label>
      <label><input type="checkbox" name="all" ${all ? 'checked' : ''}> all SAEs</label>
      <button>Search</button></form>
    <div id="hits" class="card" style="min-height:50vh"><p class="muted">Matches in feature labels and descriptions appear here, best first.</p></div>`;
  $('#search-form').addEventListener('submit', e => {
    e.preventDefault();
    const f = e.target, p = new URLSearchParams({ q: f.q.value });
    if (f.status.value) p.set('status', f.status.value);
    if (f.all.checked) p.set('all', '1');
    location.hash = '#/search?' + p;
  });
  if (!q) return;
  const hits = $('#hits');
  hits.innerHTML = '<p class="muted">Searching…</p>';
  try {
    const d = await gql(`query Search($q: String!, $sae: ID, $after: String, $status: [DescriptionStatus!]) {
      searchFeatures(query: $q, sae: $sae, first: 20, after: $after, status: $status) { totalCount
        edges { cursor score highlights { field snippets } node { sae index description { label text status } stats { documentCount } } }
        pageInfo { hasNextPage endCursor } } }`,
      { q, sae: all ? null : currentSae(), after: after || null, status: status ? [status] : null });
    const c = d.searchFeatures;
    const next = new URLSearchParams(params); next.set('after', c.pageInfo.endCursor ?? '');
    hits.innerHTML = `<p class="muted">${c.totalCount} feature(s) match.</p>` + c.edges.map(e => {
      const n = e.node, snippets = e.highlights.flatMap(h => h.snippets);
      return `<div class="hit" data-feature-index="${n.index}"><a href="${featureHref(n.index, n.sae)}"><b>#${n.index}</b> ${esc(n.description?.label ?? '')}</a>
        ${n.description ? `<span class="badge ${esc(n.description.status)}">${esc(n.description.status)}</span>` : ''}
        <span class="muted"> · ${esc(n.sae)} · score ${fmt(e.score)}${n.stats ? ' · in ' + n.stats.documentCount + ' proteins' : ''}</span>
        <div>${snippets.length ? snippets.map(highlight).join(' … ') : esc(n.description?.text ?? '')}</div></div>`;
    }).join('') + `<div class="row" style="margin-top:10px">${after ? '<button class="secondary" id="prev">← Previous</button>' : ''}
      ${c.pageInfo.hasNextPage ? `<a href="#/search?${next}" id="next">Next page →</a>` : ''}</div>`;
    $('#prev')?.addEventListener('click', () => history.back());
    hits.dataset.ready = 'true';
  } catch (e) { hits.innerHTML = errorHtml(e); }
}
