// One analysis of a sequence (Analyze and Structure pages): raw values, normalized ones too when the SAE has
// statistics, as one track per top feature.
import { gql } from './api.js';
import { featureHref } from './format.js';
import { state, currentSae, currentSaeInfo } from './state.js';

/** Analyzes a sequence with the picked SAE: the API's answer as tracks for the `top` features (buildAnalysis). */
export async function analyze(sequence, top = 20) {
  const sae = currentSae();
  const withNorm = !!currentSaeInfo()?.hasNormalizationStats;
  const featureFields = state.caps.feature.has('description') ? 'feature { description { label text status } }' : '';
  const data = await gql(`query Analyze($sae: ID!, $seq: String!, $norm: Boolean!) {
      raw: analyzeSequence(sae: $sae, sequence: $seq, normalize: false) { length sequence warnings residues { index value } pooled { index value position ${featureFields} } }
      norm: analyzeSequence(sae: $sae, sequence: $seq, normalize: true) @include(if: $norm) { residues { index value } normalization { source corpusSize } }
    }`, { sae, seq: sequence, norm: withNorm });
  return buildAnalysis(data, top, sae);
}

/**
 * The tracks of an analysis: the `top` features by pooled value (ties by index), each feature once, with its values at
 * every residue (0 where the SAE's top-k left it out). { sae, sequence, warnings, length, pooled, raw, norm, normalization }.
 */
export function buildAnalysis(data, top, sae) {
  const seen = new Set(), pooled = [];
  for (const p of [...data.raw.pooled].sort((a, b) => b.value - a.value || a.index - b.index))
    if (!seen.has(p.index) && pooled.length < top) { seen.add(p.index); pooled.push(p); }
  const indices = pooled.map(p => p.index);
  const raw = dense(data.raw.residues, indices), norm = data.norm ? dense(data.norm.residues, indices) : null;
  // Raw values: each track from 0 to its own max (features' raw scales differ arbitrarily). Normalized values
  // ((value / max) x idf) are comparable across features by design, so they share one scale: the largest shown.
  const make = (values, shared) => {
    const largest = Math.max(0, ...[...values.values()].map(list => Math.max(...list)));
    return pooled.map(p => {
      const v = values.get(p.index), max = Math.max(...v);
      const d = p.feature?.description;
      const scale = shared ? largest : max;
      return {
        index: p.index, values: v, scale: scale > 0 ? scale : 1, peak: v.indexOf(max) + 1,
        label: d ? `#${p.index} ${d.label}` : `#${p.index}`, title: d ? `#${p.index} ${d.label}: ${d.text} (${d.status})` : `feature ${p.index}`,
        href: featureHref(p.index, sae),
      };
    });
  };
  // The residues as the API analyzed them (upper-cased, white space removed): what the tracks are drawn against.
  return { sae, sequence: data.raw.sequence, warnings: data.raw.warnings, length: data.raw.length, pooled, raw: make(raw, false), norm: norm ? make(norm, true) : null,
    normalization: data.norm?.normalization ?? null };
}

/** Per-residue lists of { index, value } to one array of values per wanted feature index. */
function dense(residues, indices) {
  const map = new Map(indices.map(i => [i, new Array(residues.length).fill(0)]));
  residues.forEach((list, r) => { for (const f of list) map.get(f.index)?.splice(r, 1, f.value); });
  return map;
}
