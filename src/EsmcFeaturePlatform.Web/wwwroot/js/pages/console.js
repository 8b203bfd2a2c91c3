// The GraphQL page: the graphiql IDE (graphiql.html, in a frame) when its npm files are installed on this server; else
// this minimal console, with a notice saying why, so the page keeps working without node_modules.
import { graphqlAnswer } from '../api.js';
import { explain } from '../errors.js';
import { esc } from '../format.js';
import { EXAMPLE } from '../graphql-example.js';
import { currentSae, curatorKey } from '../state.js';

export async function consolePage({ main }) {
  let installed = false;
  try { installed = (await fetch('vendor/graphiql/graphiql.min.js', { method: 'HEAD' })).ok; } catch { /* not installed */ }
  if (installed) {
    const sae = currentSae();
    main.innerHTML = `<div class="row" style="justify-content:space-between"><h1>GraphQL IDE</h1>
        <span class="muted">POST /graphql · schema <a href="/graphql/sdl" target="_blank">/graphql/sdl</a> ·
        <a href="graphiql.html?sae=${encodeURIComponent(sae)}" target="_blank">open in its own window</a></span></div>
      <iframe id="ide-frame" class="ide" title="GraphQL IDE (graphiql)" src="graphiql.html?sae=${encodeURIComponent(sae)}"></iframe>`;
    return;
  }
  simpleConsole(main);
}

function simpleConsole(main) {
  const saved = sessionStorage.getItem('esmc.console');
  const sae = currentSae();
  const init = saved ? JSON.parse(saved) : { query: EXAMPLE, variables: JSON.stringify({ sae }, null, 2) };
  main.innerHTML = `<h1>GraphQL console</h1>
    <div class="notice" id="ide-missing">The GraphQL IDE (graphiql) is not installed on this server: run <code>npm ci</code> in the repository, then rebuild. This simple console works meanwhile.</div>
    <p class="muted">POST /graphql with <code>{query, variables}</code>; the schema is at <a href="/graphql/sdl" target="_blank">/graphql/sdl</a>.
      Ctrl+Enter runs. The curator key from the Curate page is sent when “send key” is ticked.</p>
    <div class="console">
      <div><label for="q">Query</label><textarea id="q" spellcheck="false">${esc(init.query)}</textarea>
        <label for="v">Variables (JSON)</label><textarea id="v" spellcheck="false" style="min-height:6em">${esc(init.variables)}</textarea>
        <div class="row"><button id="go">Run</button><label><input type="checkbox" id="send-key"> send key</label></div></div>
      <div><label for="out">Result</label><pre id="out" class="result" tabindex="0"></pre></div>
    </div>`;
  const q = main.querySelector('#q'), v = main.querySelector('#v'), out = main.querySelector('#out');
  const run = async () => {
    sessionStorage.setItem('esmc.console', JSON.stringify({ query: q.value, variables: v.value }));
    let variables = {};
    try { variables = v.value.trim() ? JSON.parse(v.value) : {}; } catch (e) { out.textContent = 'Variables are not valid JSON: ' + e.message; return; }
    out.textContent = 'Running…';
    const key = main.querySelector('#send-key').checked ? curatorKey() : null;
    // The answer as the server sent it, errors included: this is a console.
    try { out.textContent = JSON.stringify(await graphqlAnswer(q.value, variables, key), null, 2); } catch (e) { out.textContent = explain(e); }
    out.dataset.ready = 'true';
  };
  main.querySelector('#go').addEventListener('click', run);
  [q, v].forEach(t => t.addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } }));
}
