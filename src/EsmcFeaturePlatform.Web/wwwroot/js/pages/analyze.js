// The Analyze page (#/analyze): a pasted sequence or FASTA, or the demo protein, as one track per top feature.
import { analyze } from '../analysis.js';
import { errorHtml } from '../errors.js';
import { esc, fmt } from '../format.js';
import { DEMO, parseSequence } from '../sequence.js';
import { state, esmc, currentSae, currentSaeInfo, rememberAnalyzed } from '../state.js';
import { drawTracks, tracksHeight } from '../tracks.js';

export async function analyzePage({ main, params }) {
  const $ = sel => main.querySelector(sel);
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
  const sae = currentSaeInfo();
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
    try { parsed = parseSequence(seqBox.value); } catch (e) { status.innerHTML = errorHtml(e); return; }
    const top = Math.max(1, Math.min(100, Number($('#top').value) || 20));
    result.style.minHeight = tracksHeight(top) + 60 + 'px';
    status.innerHTML = `<span class="muted">Analyzing ${parsed.sequence.length} residues…</span>`;
    $('#run').disabled = true;
    try {
      const a = await analyze(parsed.sequence, top);
      a.id = parsed.id;
      esmc.analysis = state.analysis = a;
      sessionStorage.setItem('esmc.sequenceText', seqBox.value);
      rememberAnalyzed({ id: parsed.id, sequence: a.sequence, sae: a.sae });
      status.innerHTML = [parsed.note, ...a.warnings].filter(Boolean).map(n => `<div class="notice">${esc(n)}</div>`).join('');
      render();
      result.dataset.ready = 'true';
    } catch (e) {
      status.innerHTML = errorHtml(e);
    } finally { $('#run').disabled = false; }
  };
  $('#run').addEventListener('click', run);
  seqBox.addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) run(); });
  $('#demo').addEventListener('click', () => { seqBox.value = `>ubiquitin ${DEMO.name}\n${DEMO.sequence}`; run(); });
  if (state.analysis && state.analysis.sae === currentSae() && !params.get('seq')) { esmc.analysis = state.analysis; render(); }
  else if (params.get('seq')) run();
}
