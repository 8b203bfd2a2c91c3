// The ESMC feature platform's web page: hash-routed pages over the GraphQL API. No framework, no build step.
import { gql, capabilities, explain } from './api.js';
import { drawTracks, tracksHeight, fmt } from './tracks.js';
import { structurePage, UNIPROT } from './structure.js';
import { consolePage } from './console.js';

const main = document.getElementById('main');
const saeSelect = document.getElementById('sae');
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const $ = sel => main.querySelector(sel);

/** What tests and other scripts can read: the numbers behind what is drawn. */
const esmc = window.esmc = { ready: false, analysis: null, tracks: () => esmc.analysis?.tracks.map(t => ({ index: t.index, values: [...t.values], scale: t.scale })) ?? [] };

export const state = { saes: [], caps: null, analysis: null };
export const currentSae = () => saeSelect.value;
export const curatorKey = () => sessionStorage.getItem('esmc.curatorKey') || '';
export { esc };

const DEMO = { name: 'Human ubiquitin (P0CG48, residues 1-76)', sequence: 'MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG' };

/**
 * One protein from a pasted sequence or FASTA: { id, sequence, note }. Only the FASTA framing is handled here (the first
 * record's id; its sequence lines joined); the residues go to the API as typed, so the page and the API apply the one
 * input rule (upper-casing, white space, trailing '*', refusing other characters by name) the same way.
 */
export function parseSequence(text) {
  const lines = text.split(/\r?\n/);
  let id = 'pasted', seq = '', records = 0;
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith('>')) { records++; if (records === 1) id = line.slice(1).split(/\s+/)[0] || 'pasted'; continue; }
    if (line.startsWith(';')) continue;
    if (records > 1) break;
    seq += line.replace(/\s+/g, '');
  }
  if (!seq) throw new Error('No sequence: paste amino acids (one-letter codes) or a FASTA record.');
  return { id, sequence: seq, note: records > 1 ? 'Only the first FASTA record is analyzed.' : '' };
}

function featureHref(index, sae = currentSae()) { return `#/feature?sae=${encodeURIComponent(sae)}&index=${index}`; }
export { featureHref };

/** Analyze a sequence: raw values, normalized ones too when the SAE has statistics; tracks for the top features. */
export async function analyze(sequence, top = 20) {
  const caps = state.caps;
  const sae = state.saes.find(s => s.id === currentSae());
  const withNorm = !!sae?.hasNormalizationStats;
  const featureFields = caps.feature.has('description') ? 'feature { description { label text status } }' : '';
  const data = await gql(`query Analyze($sae: ID!, $seq: String!, $norm: Boolean!) {
      raw: analyzeSequence(sae: $sae, sequence: $seq, normalize: false) { length sequence warnings residues { index value } pooled { index value position ${featureFields} } }
      norm: analyzeSequence(sae: $sae, sequence: $seq, normalize: true) @include(if: $norm) { residues { index value } normalization { source corpusSize } }
    }`, { sae: currentSae(), seq: sequence, norm: withNorm });
  const dense = (residues, indices) => {
    const map = new Map(indices.map(i => [i, new Array(residues.length).fill(0)]));
    residues.forEach((list, r) => { for (const f of list) map.get(f.index)?.splice(r, 1, f.value); });
    return map;
  };
  const seen = new Set(), pooled = [];
  for (const p of [...data.raw.pooled].sort((a, b) => b.value - a.value || a.index - b.index))
    if (!seen.has(p.index) && pooled.length < top) { seen.add(p.index); pooled.push(p); }
  const indices = pooled.map(p => p.index);
  const raw = dense(data.raw.residues, indices), norm = data.norm ? dense(data.norm.residues, indices) : null;
  // Raw values: each track from 0 to its own max (features' raw scales differ arbitrarily). Normalized values
  // ((value / max) x idf) are comparable across features by design, so they share one scale: the largest shown.
  const make = (values, shared) => pooled.map(p => {
    const v = values.get(p.index), max = Math.max(...v);
    const d = p.feature?.description;
    const top = shared ? Math.max(0, ...[...values.values()].map(list => Math.max(...list))) : max;
    return {
      index: p.index, values: v, scale: top > 0 ? top : 1, peak: v.indexOf(max) + 1,
      label: d ? `#${p.index} ${d.label}` : `#${p.index}`, title: d ? `#${p.index} ${d.label}: ${d.text} (${d.status})` : `feature ${p.index}`,
      href: featureHref(p.index),
    };
  });
  // The residues as the API analyzed them (upper-cased, white space removed): what the tracks are drawn against.
  return { sae: currentSae(), sequence: data.raw.sequence, warnings: data.raw.warnings, length: data.raw.length, pooled, raw: make(raw, false), norm: norm ? make(norm, true) : null,
    normalization: data.norm?.normalization ?? null };
}

// ---------------------------------------------------------------- analyze
async function analyzePage(params) {
  main.innerHTML = `<h1>Analyze a protein</h1>
  <div class="card">
    <label for="seq">Sequence or FASTA</label>
    <textarea id="seq" spellcheck="false" autocomplete="off" placeholder=">my_protein&#10;MKTAYIAKQRQISFVKSHFSRQ..."></textarea>
    <div class="row">
      <button id="run">Analyze</button>
      <button id="demo" class="secondary" title="${esc(DEMO.name)}">Demo protein</button>
      <label>Top features <input id="top" type="number" min="1" max="100" value="20" style="width:5em"></label>
      <span role="radiogroup" aria-label="Values" class="row">
        <label><input type="radio" name="mode" value="raw" checked> raw</label>
        <label><input type="radio" name="mode" value="norm" id="mode-norm"> normalized</label>
      </span>
      <span><span class="legend" aria-hidden="true"></span> <span class="muted" id="legend-text">0 → max per track</span></span>
    </div>
    <div id="status" class="status" role="status"></div>
  </div>
  <div class="card" id="result" style="min-height:${tracksHeight(20) + 60}px"><p class="muted">Paste a sequence (or pick the demo protein) and press Analyze: one track per top feature appears here, aligned with the residues. Hover or use the arrow keys for exact values; click a feature to open it.</p></div>`;
  const seqBox = $('#seq'), status = $('#status'), result = $('#result');
  const saved = sessionStorage.getItem('esmc.sequenceText');
  if (params.get('seq')) seqBox.value = params.get('seq'); else if (saved) seqBox.value = saved;
  const sae = state.saes.find(s => s.id === currentSae());
  $('#mode-norm').disabled = !sae?.hasNormalizationStats;
  if (!sae?.hasNormalizationStats) $('#mode-norm').parentElement.title = 'This SAE has no normalization statistics.';
  const render = () => {
    const a = esmc.analysis;
    if (!a) return;
    const mode = main.querySelector('input[name=mode]:checked').value;
    const tracks = mode === 'norm' && a.norm ? a.norm : a.raw;
    a.tracks = tracks; a.mode = mode;
    result.innerHTML = `<div class="row" style="justify-content:space-between"><h2 style="margin:0 0 8px">${esc(a.id)} · ${a.length} residues · top ${tracks.length} features (${mode === 'norm' ? 'normalized' : 'raw'})</h2>
      <a href="#/structure">Show on a structure →</a></div><div id="tracks"></div>`;
    const view = drawTracks(result.querySelector('#tracks'), a.sequence, tracks, { onOpen: t => { location.hash = t.href; } });
    esmc.pixel = view.pixel;
    result.dataset.mode = mode;
    result.dataset.length = a.length;
    // Which statistics normalized the values (the API's precedence rule decides; the page only reports it).
    const n = a.normalization;
    const source = n ? `, ${n.source.toLowerCase()} statistics${n.corpusSize != null ? ` of ${n.corpusSize} proteins` : ''}` : '';
    $('#legend-text').textContent = mode === 'norm' ? `0 → ${fmt(tracks[0]?.scale)}, one scale for all tracks (normalized${source})` : '0 → max per track (raw)';
  };
  main.querySelectorAll('input[name=mode]').forEach(r => r.addEventListener('change', render));
  const run = async () => {
    let parsed;
    try { parsed = parseSequence(seqBox.value); } catch (e) { status.innerHTML = `<div class="error">${esc(e.message)}</div>`; return; }
    const top = Math.max(1, Math.min(100, Number($('#top').value) || 20));
    result.style.minHeight = tracksHeight(top) + 60 + 'px';
    status.innerHTML = `<span class="muted">Analyzing ${parsed.sequence.length} residues…</span>`;
    $('#run').disabled = true;
    try {
      const a = await analyze(parsed.sequence, top);
      a.id = parsed.id;
      esmc.analysis = state.analysis = a;
      sessionStorage.setItem('esmc.sequenceText', seqBox.value);
      sessionStorage.setItem('esmc.sequence', JSON.stringify({ id: parsed.id, sequence: a.sequence, sae: a.sae }));
      status.innerHTML = [parsed.note, ...a.warnings].filter(Boolean).map(n => `<div class="notice">${esc(n)}</div>`).join('');
      render();
      result.dataset.ready = 'true';
    } catch (e) {
      status.innerHTML = `<div class="error" data-code="${esc(e.code ?? '')}">${esc(explain(e))}</div>`;
    } finally { $('#run').disabled = false; }
  };
  $('#run').addEventListener('click', run);
  seqBox.addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) run(); });
  $('#demo').addEventListener('click', () => { seqBox.value = `>ubiquitin ${DEMO.name}\n${DEMO.sequence}`; run(); });
  if (state.analysis && state.analysis.sae === currentSae() && !params.get('seq')) { esmc.analysis = state.analysis; render(); }
  else if (params.get('seq')) run();
}

// ---------------------------------------------------------------- feature
async function featurePage(params) {
  const sae = params.get('sae') || currentSae();
  const index = params.get('index');
  main.innerHTML = `<h1>Feature</h1>
    <form class="card row" id="pick"><label>Feature index <input id="fi" type="number" min="0" value="${esc(index ?? '')}" style="width:8em" required></label>
    <button>Open</button> <span class="muted">in ${esc(sae)}</span></form><div id="feature" style="min-height:60vh"></div>`;
  $('#pick').addEventListener('submit', e => { e.preventDefault(); location.hash = featureHref($('#fi').value, sae); });
  if (index === null || index === '') return;
  if (sae !== currentSae() && state.saes.some(s => s.id === sae)) saeSelect.value = sae;
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
  } catch (e) { host.innerHTML = `<div class="error">${esc(explain(e))}</div>`; return; }
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
      const v = await gql(`mutation P($sae: ID!, $index: Int!, $label: String!, $text: String!, $expected: Int) {
        proposeDescription(sae: $sae, index: $index, label: $label, text: $text, expectedVersion: $expected) { version } }`,
        { sae: f.sae, index: f.index, label: form.label.value, text: form.text.value, expected: Number(form.dataset.expected) }, curatorKey());
      out.innerHTML = `<span class="ok">Saved as version ${v.proposeDescription.version} (proposed).</span>`;
      setTimeout(route, 600);
    } catch (err) { out.innerHTML = `<div class="error">${esc(explain(err))}</div>`; }
  });
  host.dataset.ready = 'true';
}

/** Bars of sampled proteins per bin of peak activation (an SVG, so it scales with the page and is readable by tests). */
function histogramChart(h) {
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

function neighboursTable(f) {
  if (!f.nearestFeatures.length) return '<p class="muted">None.</p>';
  return `<table id="neighbours"><thead><tr><th>feature</th><th>cosine</th><th>label</th></tr></thead><tbody>${
    f.nearestFeatures.map(n => `<tr class="neighbour" data-feature-index="${n.index}" data-cosine="${n.cosine}"><td><a href="${featureHref(n.index, f.sae)}">#${n.index}</a></td>
      <td>${n.cosine.toFixed(3)}</td><td>${n.feature?.description ? `${esc(n.feature.description.label)} <span class="badge ${esc(n.feature.description.status)}">${esc(n.feature.description.status)}</span>` : '<span class="muted">no description</span>'}</td></tr>`).join('')}</tbody></table>`;
}

/** The published dataset's view of the feature: searchable fields, reference proteins linked to UniProt, its neighbours. */
function importedCard(f) {
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

function enrichmentTable(list) {
  if (!list.length) return '<p class="muted" id="enrichment-none">None: the top examples carry no UniProt annotations (e.g. a FASTA corpus), or the feature never fired.</p>';
  return `<table id="enrichment"><thead><tr><th>annotation</th><th>active residues in it</th><th>precision</th><th>recall</th><th>F1</th><th>fold</th><th>adjusted p</th></tr></thead><tbody>${
    list.map(e => `<tr class="enriched" data-term="${esc(e.term)}" data-f1="${e.f1}"><td>${esc(e.term)}${e.significant ? ' <span class="badge APPROVED">significant</span>' : ''}</td>
      <td>${e.truePositives}</td><td>${fmt(e.precision)}</td><td>${fmt(e.recall)}</td><td>${fmt(e.f1)}</td><td>${fmt(e.foldEnrichment)}</td><td>${e.adjustedPValue.toExponential(1)}</td></tr>`).join('')}</tbody></table>`;
}

function historyTable(list) {
  if (!list.length) return '<p class="muted">No versions yet.</p>';
  const when = t => esc((t ?? '').replace('T', ' ').slice(0, 16));
  return `<table id="history"><thead><tr><th>v</th><th>label</th><th>status</th><th>source</th><th>proposed by</th><th>when</th><th>reviewed by</th><th>when</th><th>note</th></tr></thead><tbody>${
    list.map(d => `<tr data-version="${d.version}"><td>${d.version}</td><td title="${esc(d.text)}">${esc(d.label)}</td><td><span class="badge ${esc(d.status)}">${esc(d.status)}</span></td>
      <td>${esc(d.source)}</td><td>${esc(d.author)}</td><td>${when(d.createdAt)}</td><td class="reviewer">${esc(d.reviewer ?? '')}</td><td>${when(d.reviewedAt)}</td><td>${esc(d.reviewNote ?? '')}</td></tr>`).join('')}</tbody></table>`;
}

function proposeForm(f) {
  const latest = f.descriptions.at(-1);
  return `<form id="propose" data-expected="${latest ? latest.version : 0}"><h2>Propose a description</h2>
    <p class="muted">Needs a curator key (set it on the Curate page; kept for this browser session).</p>
    <div class="row"><label>Label <input type="text" name="label" required maxlength="200" value="${esc(latest?.label ?? '')}" style="width:24em"></label></div>
    <label>Text <textarea name="text" required>${esc(latest?.text ?? '')}</textarea></label>
    <div class="row"><button>Propose version ${latest ? latest.version + 1 : 1}</button></div><div class="status" role="status"></div></form>`;
}

// ---------------------------------------------------------------- search
function highlight(snippet) {
  return esc(snippet).replace(/&lt;(\/?)(em|b|mark)&gt;/g, '<$1mark>');
}

async function searchPage(params) {
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
  } catch (e) { hits.innerHTML = `<div class="error" data-code="${esc(e.code ?? '')}">${esc(explain(e))}</div>`; }
}

// ---------------------------------------------------------------- curate
async function curatePage(params) {
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
    sessionStorage.setItem('esmc.curatorKey', e.target.key.value.trim());
    $('#key-state').textContent = e.target.key.value.trim() ? 'Key set for this browser session.' : 'No key.';
  });
  $('#forget').addEventListener('click', () => { sessionStorage.removeItem('esmc.curatorKey'); $('#key-form').key.value = ''; $('#key-state').textContent = 'Key forgotten.'; });
  $('#qstatus').addEventListener('change', e => { location.hash = '#/curate?status=' + e.target.value; });
  $('#reload').addEventListener('click', () => route());
  const host = $('#queue');
  let d;
  try {
    d = await gql(`query Queue($sae: ID!, $status: DescriptionStatus!) { reviewQueue(sae: $sae, status: $status, first: 50) { totalCount pendingVersionCount
        edges { cursor latestVersion latestSource pendingVersions node { sae index descriptions { version label text status source author createdAt score reviewNote reviewer reviewedAt } } } } }`,
      { sae: currentSae(), status });
  } catch (e) { host.innerHTML = `<div class="error">${esc(explain(e))}</div>`; return; }
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
    const who = v => `${esc(v?.source)} · proposed by ${esc(v?.author)} ${esc((v?.createdAt ?? '').replace('T', ' ').slice(0, 16))}`
      + (v?.reviewer ? ` · ${esc(v.status.toLowerCase())} by ${esc(v.reviewer)} ${esc((v.reviewedAt ?? '').replace('T', ' ').slice(0, 16))}` : '');
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
    const show = (out, ok, msg) => { out.innerHTML = ok ? `<span class="ok">${esc(msg)}</span>` : `<div class="error" data-code="${esc(msg.code)}">${esc(explain(msg))}</div>`; };
    card.querySelectorAll('.pending').forEach(block => block.querySelectorAll('button[data-act=APPROVE], button[data-act=REJECT]').forEach(b => b.addEventListener('click', async () => {
      const out = block.querySelector('.status');
      try {
        const r = await gql(`mutation R($sae: ID!, $index: Int!, $version: Int!, $decision: ReviewDecision!, $note: String) {
          reviewDescription(sae: $sae, index: $index, version: $version, decision: $decision, note: $note) { version status reviewer } }`,
          { sae: n.sae, index: n.index, version: Number(block.dataset.version), decision: b.dataset.act, note: block.querySelector('[name=note]').value || null }, curatorKey());
        show(out, true, `Version ${r.reviewDescription.version} is now ${r.reviewDescription.status} (reviewer: ${r.reviewDescription.reviewer}).`);
      } catch (err) { show(out, false, err); }
    })));
    card.querySelector('button[data-act=edit]').addEventListener('click', () => { const f = card.querySelector('form.edit'); f.hidden = !f.hidden; if (!f.hidden) f.label.focus(); });
    card.querySelector('form.edit').addEventListener('submit', async ev => {
      ev.preventDefault();
      const f = ev.target, out = card.querySelector('.edit-status');
      try {
        const r = await gql(`mutation P($sae: ID!, $index: Int!, $label: String!, $text: String!, $expected: Int) {
          proposeDescription(sae: $sae, index: $index, label: $label, text: $text, expectedVersion: $expected) { version } }`,
          { sae: n.sae, index: n.index, label: f.label.value, text: f.text.value, expected: e.latestVersion }, curatorKey());
        show(out, true, `Saved as version ${r.proposeDescription.version} (proposed).`);
      } catch (err) { show(out, false, err); }
    });
    host.append(card);
  }
  host.dataset.ready = 'true';
}

// ---------------------------------------------------------------- router
const pages = { analyze: analyzePage, feature: featurePage, search: searchPage, curate: curatePage, structure: p => structurePage(main, p), console: p => consolePage(main, p) };

/** Every page of an SAE over the random demo model says so, above the page (Sae.notice). */
function showDemoNotice() {
  const banner = document.getElementById('demo-notice'), sae = state.saes.find(s => s.id === currentSae());
  banner.hidden = !sae?.notice;
  banner.textContent = sae?.notice ? `${sae.id}: ${sae.notice}. Use it to try the platform, not to learn about proteins.` : '';
}

async function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query] = hash.split('?');
  let name = path.split('/')[0] || 'analyze';
  if (!pages[name]) name = 'analyze';
  if ((name === 'search' && !state.caps.query.has('searchFeatures')) || (name === 'curate' && !state.caps.query.has('reviewQueue'))) name = 'analyze';
  document.querySelectorAll('nav a').forEach(a => { if (a.dataset.page === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current'); });
  document.getElementById('tooltip').hidden = true;
  showDemoNotice();
  main.dataset.page = name;
  delete main.dataset.ready;
  await pages[name](new URLSearchParams(query ?? ''));
  main.dataset.ready = 'true';
}
export { route };

async function start() {
  try {
    const [d, caps] = await Promise.all([gql('{ saes { id model layer k codebookSize hasNormalizationStats isDemo notice } }'), capabilities()]);
    state.saes = d.saes; state.caps = caps;
  } catch (e) {
    main.innerHTML = `<div class="error">The platform's API is not answering: ${esc(explain(e))}</div>`;
    return;
  }
  const stored = localStorage.getItem('esmc.sae');
  saeSelect.innerHTML = state.saes.map(s => `<option value="${esc(s.id)}">${esc(s.id)} (layer ${s.layer}, ${s.codebookSize} features)</option>`).join('');
  if (stored && state.saes.some(s => s.id === stored)) saeSelect.value = stored;
  else {
    // A real model before the random demo one, one with normalization statistics first.
    const best = state.saes.find(s => s.hasNormalizationStats && !s.isDemo) ?? state.saes.find(s => !s.isDemo) ?? state.saes.find(s => s.hasNormalizationStats);
    if (best) saeSelect.value = best.id;
  }
  saeSelect.addEventListener('change', () => { localStorage.setItem('esmc.sae', saeSelect.value); state.analysis = null; esmc.analysis = null; route(); });
  document.querySelector('nav a[data-page=search]').hidden = !state.caps.query.has('searchFeatures');
  document.querySelector('nav a[data-page=curate]').hidden = !state.caps.query.has('reviewQueue');
  esmc.caps = { query: [...state.caps.query], mutation: [...state.caps.mutation], feature: [...state.caps.feature] };
  window.addEventListener('hashchange', route);
  await route();
  esmc.ready = true;
}
start();
