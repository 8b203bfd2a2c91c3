// The Feature page's cards are HTML built from the API's answer: what they show, and that the answer's text is escaped.
import test from 'node:test';
import assert from 'node:assert/strict';
import { page } from './web-root.mjs';

const { histogramChart, neighboursTable, importedCard, enrichmentTable, historyTable, proposeForm } = await import(page('pages/feature.js'));

const attrs = (html, name) => [...html.matchAll(new RegExp(`${name}="([^"]*)"`, 'g'))].map(m => m[1]);

test('the histogram draws one bar per bin, the fullest bin full height', () => {
  const html = histogramChart({ sampleSize: 6, documentCount: 40, max: 2.5, bins: [{ from: 0, to: 1, count: 1 }, { from: 1, to: 2, count: 0 }, { from: 2, to: 2.5, count: 5 }] });
  assert.deepEqual(attrs(html, 'data-count'), ['1', '0', '5']);
  const heights = attrs(html, 'height').map(Number);
  assert.equal(Math.max(...heights), 140 - 2 * 22);
  assert.equal(heights[1], 0);
  assert.match(html, /a uniform sample of 6 of the 40 indexed proteins/);
  assert.match(histogramChart({ sampleSize: 0, bins: [] }), /No sample yet/);
});

test('nearest features link to each neighbour in the same SAE, in the API\'s order', () => {
  const html = neighboursTable({ sae: 'org/sae', nearestFeatures: [
    { index: 4, cosine: 0.91234, feature: { description: { label: '<i>zinc</i>', status: 'PROPOSED' } } },
    { index: 1, cosine: 0.5, feature: null },
  ] });
  assert.deepEqual(attrs(html, 'data-feature-index'), ['4', '1']);
  assert.deepEqual(attrs(html, 'href'), ['#/feature?sae=org%2Fsae&index=4', '#/feature?sae=org%2Fsae&index=1']);
  assert.match(html, /<td>0\.912<\/td>/);
  assert.match(html, /&lt;i&gt;zinc&lt;\/i&gt;/);
  assert.match(html, /no description/);
  assert.match(neighboursTable({ sae: 's', nearestFeatures: [] }), /None\./);
});

test('enriched annotations: a row per term, significant ones badged; none says why', () => {
  const html = enrichmentTable([{ term: 'Zinc finger C2H2', truePositives: 12, precision: 0.8, recall: 0.5, f1: 0.615, foldEnrichment: 12.5, adjustedPValue: 0.00012, significant: true }]);
  assert.deepEqual(attrs(html, 'data-term'), ['Zinc finger C2H2']);
  assert.match(html, /significant/);
  assert.match(html, /1\.2e-4/);
  assert.match(enrichmentTable([]), /id="enrichment-none"/);
});

test('the description history lists every version with who and when; the form proposes the next version', () => {
  const versions = [
    { version: 1, label: 'helix', text: 't1', status: 'REJECTED', source: 'HUMAN', author: 'carol', createdAt: '2026-01-02T03:04:05Z', reviewer: 'dave', reviewedAt: '2026-01-03T00:00:00Z', reviewNote: 'too vague' },
    { version: 2, label: 'alpha "helix"', text: 't2', status: 'PROPOSED', source: 'HUMAN', author: 'carol', createdAt: '2026-01-04T00:00:00Z', reviewer: null, reviewedAt: null, reviewNote: null },
  ];
  const html = historyTable(versions);
  assert.deepEqual(attrs(html, 'data-version'), ['1', '2']);
  assert.match(html, /2026-01-02 03:04/);
  assert.match(html, /too vague/);
  const form = proposeForm({ descriptions: versions });
  assert.match(form, /data-expected="2"/);
  assert.match(form, /Propose version 3/);
  assert.match(form, /value="alpha &quot;helix&quot;"/);
  assert.match(proposeForm({ descriptions: [] }), /Propose version 1/);
  assert.match(historyTable([]), /No versions yet/);
});

test('a published dataset\'s card links its reference proteins and lists its own neighbours', () => {
  const html = importedCard({ sae: 's', imported: {
    dataset: 'esmc-tiny-features', file: 'f.parquet', revision: 'abc', category: 'domain', activationPattern: 'periodic', exemplarFamilies: ['KRAB', 'C2H2'], threshold: 0.5,
    referenceExamples: [{ id: 'P08047', database: 'SWISSPROT', url: 'https://www.uniprot.org/uniprotkb/P08047/entry' }, { id: 'UniRef90_X', database: 'UNIREF90', url: 'https://www.uniprot.org/uniref/UniRef90_X' }],
    publishedNeighbors: [{ index: 8, description: { label: 'helix core' } }, { index: 12, description: null }],
  } });
  assert.deepEqual(attrs(html, 'data-database'), ['SWISSPROT', 'UNIREF90']);
  assert.match(html, /<a href="https:\/\/www\.uniprot\.org\/uniprotkb\/P08047\/entry" target="_blank" rel="noopener noreferrer">P08047<\/a> <span class="muted">Swiss-Prot<\/span>/);
  assert.match(html, /UniRef90<\/span>/);
  assert.deepEqual(attrs(html, 'data-feature-index'), ['8', '12']);
  assert.match(html, /KRAB, C2H2/);
  assert.match(html, /Imported from f\.parquet at abc\./);
});
