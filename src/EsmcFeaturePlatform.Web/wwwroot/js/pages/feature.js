// The Feature page (#/feature?sae=...&index=...): statistics, description and its history, top examples with their
// peaks, the activation histogram, nearest features, enriched annotations, what a published dataset says, and a
// form to propose a new description. The cards are pure HTML builders (exported for `node --test`).
import { gql } from '../api.js';
import { proposeDescription } from '../curation.js';
import { errorHtml } from '../errors.js';
import { esc, fmt, when, featureHref } from '../format.js';
import { UNIPROT } from '../sequence.js';
import { state, esmc, currentSae, showSae } from '../state.js';
import { drawTracks } from '../tracks.js';

export async function featurePage({ main, params, reload }) {
  const $ = sel => main.querySelector(sel);
  const sae = params.get('sae') || currentSae();
  const index = params.get('index');
  main.innerHTML = `<h1>Feature</h1>
    <form class="card row" id="pick"><label>Feature index <input id="fi" type="number" min="0" value="${esc(index ?? '')}" style="width:8em" required></label>
    <button>Open</button> <span class="muted">in ${esc(sae)}</span></form><div id="feature" style="min-height:60vh"></div>`;
  $('#pick').addEventListener('submit', e => { e.preventDefault(); location.hash = featureHref($('#fi').value, sae); });
  if (index === null || index === '') return;
  if (sae !== currentSae() && state.saes.some(s => s.id === sae)) showSae(sae);
  const host = $('#feature');
  host.innerHTML = '<p class="muted">Loading…</p>';
  const caps = state.caps;
  const desc = caps.feature.has('descriptions') ? `description { version label text status source author createdAt score reviewNote }
      descriptions { version label text status source author createdAt score reviewNote reviewer reviewedAt }` : '';
  const quant = caps.feature.has('quantileSamples') ? 'quantileSamples(count: 5) { sequenceId proteinName maxValue position sequence activations }' : '';
  const histogram = caps.feature.has('activationHistogram') ? 'activationHistogram(bins: 20) { sampleSize documentCount max bins { from to count } }' : '';
  const near = caps.feature.has('nearestFeatures')
    ? `nearestFeatures(first: 10) { index cosine ${caps.feature.has('description') ? 'feature { description { label status } }' : ''} }` : '';
  const enrich = caps.feature.has('annotationEnrichment')
    ? 'annotationEnrichment(first: 10) { term type truePositives precision recall f1 foldEnrichment adjustedPValue significant }' : '';
  // What a published feature dataset (importFeatureDataset) says: fields, reference proteins, its own neighbours.
  const imported = caps.feature.has('imported')
    ? `imported { dataset revision file category activationPattern exemplarFamilies threshold referenceExamples { id database url }
        publishedNeighbors { index ${caps.feature.has('description') ? 'description { label status }' : ''} } }
       ${caps.feature.has('description') ? 'description { provenance }' : ''}` : '';
  let f;
  try {
    const d = await gql(`query Feature($sae: ID!, $index: Int!) { feature(sae: $sae, index: $index) { sae index
        notice stats { maxActivation documentCount corpusSize idf } topExamples(first: 10) { sequenceId proteinName maxValue position sequence activations } ${quant} ${histogram} ${near} ${enrich} ${desc} ${imported} } }`,
      { sae, index: Number(index) });
    f = d.feature;
  } catch (e) { host.innerHTML = errorHtml(e); return; }
  if (!f) { host.innerHTML = `<div class="error">There is no feature ${esc(index)} in ${esc(sae)}.</div>`; return; }
  const s = f.stats;
  const link = location.href;
  host.innerHTML = `${f.notice ? `<p class="notice" id="feature-notice">${esc(f.sae)}: ${esc(f.notice)}.</p>` : ''}
    <div class="card"><div class="row" style="justify-content:space-between">
      <h2 style="margin:0" id="feature-title">#${f.index}${f.description ? ' · ' + esc(f.description.label) : ''}
        ${f.description ? `<span class="badge ${esc(f.description.status)}">${esc(f.description.status)}</span>` : ''}</h2>
      <span class="row"><input type="text" readonly value="${esc(link)}" aria-label="Link to this feature" style="width:22em" id="share"><button class="secondary" id="copy">Copy link</button></span></div>
      ${f.description ? `<p>${esc(f.description.text)}</p><p class="muted">Version ${f.description.version} · ${esc(f.description.source)} · ${esc(f.description.author)}${f.description.score !== null && f.description.score !== undefined ? ' · score ' + fmt(f.description.score) : ''}${f.description.provenance ? ' · <span id="provenance">' + esc(f.description.provenance) + '</span>' : ''}</p>` : (caps.feature.has('description') ? '<p class="muted">No description yet.</p>' : '')}
      <dl class="stats" id="stats">
        <dt>max activation</dt><dd data-stat="maxActivation">${fmt(s?.maxActivation)}</dd>
        <dt>document count</dt><dd data-stat="documentCount">${s ? s.documentCount : '—'} of ${s ? s.corpusSize : '—'} proteins</dd>
        <dt>idf</dt><dd data-stat="idf">${fmt(s?.idf)}</dd>
      </dl></div>
    <div class="card"><h2 style="margin-top:0">Top-activating examples</h2><div id="examples">${f.topExamples.length ? '' : '<p class="muted">No indexed protein activates this feature (index a corpus first).</p>'}</div></div>
    ${f.activationHistogram ? `<div class="card"><h2 style="margin-top:0">Activation histogram</h2>${histogramChart(f.activationHistogram)}</div>` : ''}
    ${f.quantileSamples ? `<div class="card"><h2 style="margin-top:0">Across the activation range</h2><div id="quantiles">${f.quantileSamples.length ? '' : '<p class="muted">None.</p>'}</div></div>` : ''}
    ${f.nearestFeatures ? `<div class="card"><h2 style="margin-top:0">Nearest features</h2>
      <p class="muted">By cosine between the SAE decoder rows (the directions the features write into the model).</p>${neighboursTable(f)}</div>` : ''}
    ${f.imported ? importedCard(f) : ''}
    ${f.annotationEnrichment ? `<div class="card"><h2 style="margin-top:0">Enriched annotations</h2>
      <p class="muted">UniProt annotations where this feature is active in its top examples. p: the larger of two exact tests, each example's active residues rotated within their own protein (proteins are the independent units) and shuffled among residues of the same amino acid; adjusted p: Benjamini-Hochberg over every feature × annotation of this SAE; significant: adjusted p &lt; 0.05 and fold enrichment &gt; 1.</p>${enrichmentTable(f.annotationEnrichment)}</div>` : ''}
    ${f.descriptions ? `<div class="card"><h2 style="margin-top:0">Description history</h2>${historyTable(f.descriptions)}${caps.mutation.has('proposeDescription') ? proposeForm(f) : ''}</div>` : ''}`;
  $('#copy').addEventListener('click', async () => {
    const box = $('#share'); box.select();
    try { await navigator.clipboard.writeText(box.value); $('#copy').textContent = 'Copied'; } catch { document.execCommand?.('copy'); $('#copy').textContent = 'Selected'; }
  });
  const scale = s?.maxActivation || Math.max(1e-9, ...f.topExamples.map(e => e.maxValue));
  const examples = (host2, list) => list.forEach(ex => {
    const div = document.createElement('div');
    div.className = 'example';
    // The protein's name, and a link to its UniProt entry when the id is an accession (a link only: nothing is fetched).
    const id = UNIPROT.test(ex.sequenceId)
      ? `<a class="uniprot" href="https://www.uniprot.org/uniprotkb/${esc(ex.sequenceId)}/entry" target="_blank" rel="noopener" title="Open the UniProt entry">${esc(ex.sequenceId)} ↗</a>`
      : `<b>${esc(ex.sequenceId)}</b>`;
    div.innerHTML = `<div class="meta">${id}${ex.proteinName ? ` <span class="protein-name">${esc(ex.proteinName)}</span>` : ''} · max ${fmt(ex.maxValue)} at residue ${ex.position} (${esc(ex.sequence[ex.position - 1] ?? '')})</div><div></div>`;
    div.dataset.sequenceId = ex.sequenceId; div.dataset.peak = ex.position;
    host2.append(div);
    // Each example opens scrolled to its peak: a long protein's peak is often far off the first screen.
    drawTracks(div.lastElementChild, ex.sequence, [{ index: f.index, label: `#${f.index}`, values: ex.activations, scale, peak: ex.position, href: '' }],
      { labelled: false, scrollTo: ex.position });
  });
  examples($('#examples'), f.topExamples);
  if (f.quantileSamples) examples($('#quantiles'), f.quantileSamples);
  esmc.feature = f;
  const form = main.querySelector('#propose');
  if (form) form.addEventListener('submit', async e => {
    e.preventDefault();
    const out = form.querySelector('.status');
    try {
      const version = await proposeDescription({ sae: f.sae, index: f.index, label: form.label.value, text: form.text.value, expected: Number(form.dataset.expected) });
      out.innerHTML = `<span class="ok">Saved as version ${version} (proposed).</span>`;
      setTimeout(reload, 600);
    } catch (err) { out.innerHTML = errorHtml(err); }
  });
  host.dataset.ready = 'true';
}

/** Bars of sampled proteins per bin of peak activation (an SVG, so it scales with the page and is readable by tests). */
export function histogramChart(h) {
  if (!h.sampleSize) return '<p class="muted" id="histogram">No sample yet: no indexed protein activates this feature.</p>';
  const W = 600, H = 140, pad = 22, most = Math.max(...h.bins.map(b => b.count)), bw = (W - 2 * pad) / h.bins.length;
  const bars = h.bins.map((b, i) => {
    const bh = most ? (H - 2 * pad) * b.count / most : 0;
    return `<rect class="bar" data-count="${b.count}" data-from="${b.from}" data-to="${b.to}" x="${(pad + i * bw + 1).toFixed(1)}" y="${(H - pad - bh).toFixed(1)}"
      width="${Math.max(1, bw - 2).toFixed(1)}" height="${bh.toFixed(1)}"><title>${b.count} protein(s) with a peak in [${fmt(b.from)}, ${fmt(b.to)})</title></rect>`;
  }).join('');
  return `<div id="histogram" data-sample-size="${h.sampleSize}"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Histogram of per-protein peak activations">
      ${bars}<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#5b6776"/>
      <text x="${pad}" y="${H - 6}" font-size="11" fill="#5b6776">0</text>
      <text x="${W - pad}" y="${H - 6}" font-size="11" fill="#5b6776" text-anchor="end">${fmt(h.max)}</text>
      <text x="${pad}" y="12" font-size="11" fill="#5b6776">${most} protein(s)</text></svg>
    <p class="muted">Peak activation per protein, for a uniform sample of ${h.sampleSize} of the ${h.documentCount} indexed proteins this feature fires in.</p></div>`;
}

export function neighboursTable(f) {
  if (!f.nearestFeatures.length) return '<p class="muted">None.</p>';
  return `<table id="neighbours"><thead><tr><th>feature</th><th>cosine</th><th>label</th></tr></thead><tbody>${
    f.nearestFeatures.map(n => `<tr class="neighbour" data-feature-index="${n.index}" data-cosine="${n.cosine}"><td><a href="${featureHref(n.index, f.sae)}">#${n.index}</a></td>
      <td>${n.cosine.toFixed(3)}</td><td>${n.feature?.description ? `${esc(n.feature.description.label)} <span class="badge ${esc(n.feature.description.status)}">${esc(n.feature.description.status)}</span>` : '<span class="muted">no description</span>'}</td></tr>`).join('')}</tbody></table>`;
}

/** The published dataset's view of the feature: searchable fields, reference proteins linked to UniProt, its neighbours. */
export function importedCard(f) {
  const d = f.imported;
  const field = (name, value) => value ? `<dt>${name}</dt><dd>${esc(value)}</dd>` : '';
  const references = d.referenceExamples.length
    ? `<ul id="reference-examples" class="references">${d.referenceExamples.map(r =>
        `<li data-database="${esc(r.database)}"><a href="${esc(r.url)}" target="_blank" rel="noopener noreferrer">${esc(r.id)}</a> <span class="muted">${r.database === 'UNIREF90' ? 'UniRef90' : 'Swiss-Prot'}</span></li>`).join('')}</ul>`
    : '<p class="muted">None.</p>';
  const neighbours = d.publishedNeighbors.length
    ? `<table id="published-neighbours"><thead><tr><th>feature</th><th>label</th></tr></thead><tbody>${d.publishedNeighbors.map(n =>
        `<tr class="published-neighbour" data-feature-index="${n.index}"><td><a href="${featureHref(n.index, f.sae)}">#${n.index}</a></td>
          <td>${n.description ? esc(n.description.label) : '<span class="muted">no description</span>'}</td></tr>`).join('')}</tbody></table>`
    : '<p class="muted">None.</p>';
  return `<div class="card" id="imported"><h2 style="margin-top:0">Published by ${esc(d.dataset)}</h2>
    <p class="muted">Imported from ${esc(d.file)}${d.revision ? ' at ' + esc(d.revision) : ''}.</p>
    <dl class="stats">${field('category', d.category)}${field('activation pattern', d.activationPattern)}${field('exemplar families', d.exemplarFamilies.join(', '))}${d.threshold !== null && d.threshold !== undefined ? `<dt>threshold</dt><dd>${fmt(d.threshold)}</dd>` : ''}</dl>
    <h3>Reference examples</h3>${references}
    <h3>Published nearest features</h3><p class="muted">The dataset's own neighbours, beside the computed ones above.</p>${neighbours}</div>`;
}

export function enrichmentTable(list) {
  if (!list.length) return '<p class="muted" id="enrichment-none">None: the top examples carry no UniProt annotations (e.g. a FASTA corpus), or the feature never fired.</p>';
  return `<table id="enrichment"><thead><tr><th>annotation</th><th>active residues in it</th><th>precision</th><th>recall</th><th>F1</th><th>fold</th><th>adjusted p</th></tr></thead><tbody>${
    list.map(e => `<tr class="enriched" data-term="${esc(e.term)}" data-f1="${e.f1}"><td>${esc(e.term)}${e.significant ? ' <span class="badge APPROVED">significant</span>' : ''}</td>
      <td>${e.truePositives}</td><td>${fmt(e.precision)}</td><td>${fmt(e.recall)}</td><td>${fmt(e.f1)}</td><td>${fmt(e.foldEnrichment)}</td><td>${e.adjustedPValue.toExponential(1)}</td></tr>`).join('')}</tbody></table>`;
}

export function historyTable(list) {
  if (!list.length) return '<p class="muted">No versions yet.</p>';
  return `<table id="history"><thead><tr><th>v</th><th>label</th><th>status</th><th>source</th><th>proposed by</th><th>when</th><th>reviewed by</th><th>when</th><th>note</th></tr></thead><tbody>${
    list.map(d => `<tr data-version="${d.version}"><td>${d.version}</td><td title="${esc(d.text)}">${esc(d.label)}</td><td><span class="badge ${esc(d.status)}">${esc(d.status)}</span></td>
      <td>${esc(d.source)}</td><td>${esc(d.author)}</td><td>${esc(when(d.createdAt))}</td><td class="reviewer">${esc(d.reviewer ?? '')}</td><td>${esc(when(d.reviewedAt))}</td><td>${esc(d.reviewNote ?? '')}</td></tr>`).join('')}</tbody></table>`;
}

export function proposeForm(f) {
  const latest = f.descriptions.at(-1);
  return `<form id="propose" data-expected="${latest ? latest.version : 0}"><h2>Propose a description</h2>
    <p class="muted">Needs a curator key (set it on the Curate page; kept for this browser session).</p>
    <div class="row"><label>Label <input type="text" name="label" required maxlength="200" value="${esc(latest?.label ?? '')}" style="width:24em"></label></div>
    <label>Text <textarea name="text" required>${esc(latest?.text ?? '')}</textarea></label>
    <div class="row"><button>Propose version ${latest ? latest.version + 1 : 1}</button></div><div class="status" role="status"></div></form>`;
}

