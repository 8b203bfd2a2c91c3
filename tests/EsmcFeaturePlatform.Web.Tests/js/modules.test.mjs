// The page's ES modules as a graph: every relative import resolves, no module imports itself back through others
// (import cycles make a module run before the one it needs has finished, so its exports read as undefined), page
// modules (pages/) are imported by app.js only and import no other page, and every module is used by an HTML page.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { wwwroot, js } from './web-root.mjs';

/** Every .js/.mjs file under a folder, as paths relative to wwwroot with '/' separators. */
function modulesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(e => e.isFile() && /\.m?js$/.test(e.name))
    .map(e => path.relative(wwwroot, path.join(e.parentPath ?? e.path, e.name)).split(path.sep).join('/'))
    .sort();
}

/** The relative specifiers a module imports: static imports and re-exports, side-effect imports, dynamic import('...'). */
export function importsOf(source) {
  const out = [];
  const patterns = [
    /\bimport\s[^'"`;]*?\sfrom\s*(['"])([^'"]+)\1/g,
    /\bexport\s[^'"`;]*?\sfrom\s*(['"])([^'"]+)\1/g,
    /\bimport\s*(['"])([^'"]+)\1/g,
    /\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g,
  ];
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const p of patterns) for (const m of code.matchAll(p)) out.push(m[2]);
  return [...new Set(out)];
}

/** module (relative to wwwroot) -> the modules it imports (relative to wwwroot). */
function graph() {
  const edges = new Map();
  for (const file of modulesUnder(js)) {
    const from = path.posix.dirname(file);
    edges.set(file, importsOf(fs.readFileSync(path.join(wwwroot, file), 'utf8'))
      .filter(s => s.startsWith('.'))
      .map(s => path.posix.normalize(path.posix.join(from, s))));
  }
  return edges;
}

/** The cycles of a graph, each as a path that starts and ends at the same module; [] when there is none. */
export function cyclesOf(edges) {
  const cycles = [], state = new Map(), stack = [];
  const visit = node => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

test('the cycle finder finds a cycle, and none where there is none', () => {
  assert.deepEqual(cyclesOf(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), [['a', 'b', 'c', 'a']]);
  assert.deepEqual(cyclesOf(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), []);
  assert.deepEqual(cyclesOf(new Map([['a', ['a']]])), [['a', 'a']]);
});

test('the import finder reads every form of import and skips comments', () => {
  assert.deepEqual(importsOf(`import { a, b } from './a.js';\nimport * as c from "../c.js";\nexport { d } from './d.js';\nimport './e.js';
const f = await import('./f.js');\n// import { g } from './g.js';\n/* import './h.js'; */\nimport {\n  i,\n  j,\n} from './i.js';`),
  ['./a.js', '../c.js', './i.js', './d.js', './e.js', './f.js']);
});

test('every relative import of the page resolves to a module of the page', () => {
  const edges = graph();
  const missing = [...edges].flatMap(([file, to]) => to.filter(t => !edges.has(t)).map(t => `${file} imports ${t}, which does not exist`));
  assert.deepEqual(missing, []);
});

test('the page\'s modules import each other without a cycle', () => {
  const edges = graph();
  assert.ok(edges.size >= 10, `only ${edges.size} modules found under ${js}`);
  assert.deepEqual(cyclesOf(edges).map(c => c.join(' -> ')), []);
});

test('each page is one module under pages/, imported by app.js only, importing no other page', () => {
  const edges = graph();
  const pages = [...edges.keys()].filter(f => f.startsWith('js/pages/'));
  assert.deepEqual(pages.map(p => path.posix.basename(p, '.js')).sort(), ['analyze', 'console', 'curate', 'feature', 'search', 'structure']);
  const wrong = [...edges].flatMap(([file, to]) => to.filter(t => t.startsWith('js/pages/') && file !== 'js/app.js').map(t => `${file} imports ${t}`));
  assert.deepEqual(wrong, []);
  for (const p of pages) assert.ok(edges.get('js/app.js').includes(p), `app.js does not route to ${p}`);
});

test('every module is used: reachable from a script of an HTML page', () => {
  const edges = graph();
  const entries = fs.readdirSync(wwwroot).filter(f => f.endsWith('.html'))
    .flatMap(html => [...fs.readFileSync(path.join(wwwroot, html), 'utf8').matchAll(/<script[^>]*\stype="module"[^>]*\ssrc="([^"]+)"/g)].map(m => m[1]));
  assert.deepEqual(entries.sort(), ['js/app.js', 'js/ide.js']);
  const seen = new Set(), todo = [...entries];
  while (todo.length) { const m = todo.pop(); if (seen.has(m)) continue; seen.add(m); todo.push(...(edges.get(m) ?? [])); }
  assert.deepEqual([...edges.keys()].filter(m => !seen.has(m)), []);
});

test('no test file is among the files served to browsers', () => {
  const served = fs.readdirSync(wwwroot, { recursive: true }).map(String);
  assert.deepEqual(served.filter(f => /\.test\.m?js$|(^|[\\/])tests?[\\/]/.test(f)), []);
});
