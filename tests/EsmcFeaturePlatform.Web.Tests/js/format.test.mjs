import test from 'node:test';
import assert from 'node:assert/strict';
import { page } from './web-root.mjs';

const { esc, fmt, when, highlight, rgb, colour, hex, featureHref } = await import(page('format.js'));

test('esc escapes the five HTML characters and makes null and undefined empty', () => {
  assert.equal(esc(`<a href="x">Tom & 'Jerry'</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
  assert.equal(esc(null), '');
  assert.equal(esc(undefined), '');
  assert.equal(esc(0), '0');
});

test('fmt: one decimal from 100, three from 1, three significant digits below, a dash for nothing', () => {
  assert.equal(fmt(1234.56), '1234.6');
  assert.equal(fmt(-100), '-100.0');
  assert.equal(fmt(1.5), '1.500');
  assert.equal(fmt(0.0123456), '0.0123');
  assert.equal(fmt(0), '0.00');
  assert.equal(fmt(null), '—');
  assert.equal(fmt(undefined), '—');
  assert.equal(fmt(NaN), 'NaN');
  assert.equal(fmt(Infinity), 'Infinity');
});

test('when shows an ISO time to the minute', () => {
  assert.equal(when('2026-03-04T05:06:07.123Z'), '2026-03-04 05:06');
  assert.equal(when(null), '');
  assert.equal(when(undefined), '');
});

test('highlight keeps the search highlights as <mark> and escapes everything else', () => {
  assert.equal(highlight('a <em>zinc</em> <b>finger</b> <mark>x</mark>'), 'a <mark>zinc</mark> <mark>finger</mark> <mark>x</mark>');
  assert.equal(highlight('<script>alert(1)</script> & <em>b</em>'), '&lt;script&gt;alert(1)&lt;/script&gt; &amp; <mark>b</mark>');
});

test('the colour scale runs from white at 0 to dark blue at 1 and clamps outside', () => {
  assert.deepEqual(rgb(0), [255, 255, 255]);
  assert.deepEqual(rgb(1), [8, 48, 107]);
  assert.deepEqual(rgb(0.5), [132, 152, 181]);
  assert.deepEqual(rgb(-3), rgb(0));
  assert.deepEqual(rgb(7), rgb(1));
  assert.deepEqual(rgb(NaN), rgb(0));
  assert.deepEqual(rgb(Infinity), rgb(0));
  assert.equal(colour(1), 'rgb(8,48,107)');
  assert.equal(hex(1), '#08306b');
  assert.equal(hex(0), '#ffffff');
});

test('featureHref names the SAE (escaped) and the index', () => {
  assert.equal(featureHref(17, 'org/repo/layer 2'), '#/feature?sae=org%2Frepo%2Flayer%202&index=17');
});
