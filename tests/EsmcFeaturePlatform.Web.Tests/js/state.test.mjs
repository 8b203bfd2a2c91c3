import test from 'node:test';
import assert from 'node:assert/strict';
import { page } from './web-root.mjs';

const { defaultSae } = await import(page('state.js'));

test('a browser that never picked an SAE starts with a real one with statistics, then a real one, then the demo', () => {
  const demoStats = { id: 'demo/stats', isDemo: true, hasNormalizationStats: true };
  const real = { id: 'real', isDemo: false, hasNormalizationStats: false };
  const realStats = { id: 'real/stats', isDemo: false, hasNormalizationStats: true };
  const demo = { id: 'demo', isDemo: true, hasNormalizationStats: false };
  assert.equal(defaultSae([demoStats, real, realStats]).id, 'real/stats');
  assert.equal(defaultSae([demoStats, real, demo]).id, 'real');
  assert.equal(defaultSae([demo, demoStats]).id, 'demo/stats');
  assert.equal(defaultSae([demo]).id, 'demo');
  assert.equal(defaultSae([]), undefined);
});
