import test from 'node:test';
import assert from 'node:assert/strict';
import { page } from './web-root.mjs';

const { buildAnalysis } = await import(page('analysis.js'));

// Three residues; features 5, 9 and 2 active. Pooled lists a feature once per position the API reports.
const data = {
  raw: {
    length: 3, sequence: 'MKT', warnings: ['w'],
    residues: [[{ index: 5, value: 2 }, { index: 9, value: 1 }], [{ index: 5, value: 4 }], [{ index: 2, value: 1 }, { index: 9, value: 3 }]],
    pooled: [
      { index: 9, value: 3, position: 3 },
      { index: 5, value: 4, position: 2, feature: { description: { label: 'helix', text: 'Fires on helices', status: 'APPROVED' } } },
      { index: 2, value: 1, position: 3 },
      { index: 5, value: 4, position: 2 },
    ],
  },
  norm: {
    residues: [[{ index: 5, value: 0.5 }, { index: 9, value: 0.2 }], [{ index: 5, value: 1 }], [{ index: 2, value: 2 }, { index: 9, value: 0.6 }]],
    normalization: { source: 'CORPUS', corpusSize: 24 },
  },
};

test('the top features by pooled value, each once, ties by index', () => {
  const a = buildAnalysis(data, 2, 'org/sae');
  assert.deepEqual(a.raw.map(t => t.index), [5, 9]);
  assert.deepEqual(buildAnalysis(data, 20, 'org/sae').raw.map(t => t.index), [5, 9, 2]);
  const tie = { raw: { ...data.raw, pooled: [{ index: 9, value: 1 }, { index: 2, value: 1 }] } };
  assert.deepEqual(buildAnalysis(tie, 20, 's').raw.map(t => t.index), [2, 9]);
});

test('raw tracks: every residue\'s value (0 where the feature was not active), each on its own scale, the peak marked', () => {
  const a = buildAnalysis(data, 20, 'org/sae');
  assert.deepEqual(a.raw.map(t => [t.index, t.values, t.scale, t.peak]), [[5, [2, 4, 0], 4, 2], [9, [1, 0, 3], 3, 3], [2, [0, 0, 1], 1, 3]]);
  assert.equal(a.sequence, 'MKT');
  assert.equal(a.length, 3);
  assert.deepEqual(a.warnings, ['w']);
  assert.equal(a.sae, 'org/sae');
});

test('normalized tracks share one scale, the largest value shown; the statistics used are reported', () => {
  const a = buildAnalysis(data, 20, 'org/sae');
  assert.deepEqual(a.norm.map(t => [t.index, t.values, t.scale]), [[5, [0.5, 1, 0], 2], [9, [0.2, 0, 0.6], 2], [2, [0, 0, 2], 2]]);
  assert.deepEqual(a.normalization, { source: 'CORPUS', corpusSize: 24 });
});

test('without normalized values there are no normalized tracks', () => {
  const a = buildAnalysis({ raw: data.raw }, 20, 's');
  assert.equal(a.norm, null);
  assert.equal(a.normalization, null);
});

test('a track that is zero everywhere still has a scale to divide by', () => {
  const zero = { raw: { length: 2, sequence: 'MK', warnings: [], residues: [[], []], pooled: [{ index: 1, value: 0 }] } };
  assert.deepEqual(buildAnalysis(zero, 20, 's').raw.map(t => [t.values, t.scale]), [[[0, 0], 1]]);
});

test('labels, titles and links name the feature, with its description when it has one', () => {
  const [helix, plain] = buildAnalysis(data, 20, 'org/sae').raw;
  assert.equal(helix.label, '#5 helix');
  assert.equal(helix.title, '#5 helix: Fires on helices (APPROVED)');
  assert.equal(helix.href, '#/feature?sae=org%2Fsae&index=5');
  assert.equal(plain.label, '#9');
  assert.equal(plain.title, 'feature 9');
});
