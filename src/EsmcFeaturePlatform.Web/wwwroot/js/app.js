// The ESMC feature platform's web page (index.html): hash-routed pages over the GraphQL API. No framework, no build
// step. This module starts the page and routes; each page is one module under pages/, and the modules they share
// (api, errors, format, state, tracks...) import no page and not this module, so the modules form no cycle
// (tests/EsmcFeaturePlatform.Web.Tests/js/modules.test.mjs checks).
import { gql, capabilities } from './api.js';
import { errorHtml } from './errors.js';
import { esc } from './format.js';
import { state, esmc, currentSae, currentSaeInfo, showSae, storedSae, storeSae, defaultSae } from './state.js';
import { analyzePage } from './pages/analyze.js';
import { featurePage } from './pages/feature.js';
import { searchPage } from './pages/search.js';
import { curatePage } from './pages/curate.js';
import { structurePage } from './pages/structure.js';
import { consolePage } from './pages/console.js';

const main = document.getElementById('main');
const saeSelect = document.getElementById('sae');

const pages = { analyze: analyzePage, feature: featurePage, search: searchPage, curate: curatePage, structure: structurePage, console: consolePage };

/** Every page of an SAE over the random demo model says so, above the page (Sae.notice). */
function showDemoNotice() {
  const banner = document.getElementById('demo-notice'), sae = currentSaeInfo();
  banner.hidden = !sae?.notice;
  banner.textContent = sae?.notice ? `${sae.id}: ${sae.notice}. Use it to try the platform, not to learn about proteins.` : '';
}

/** Shows the page the address names (#/name?params); a page the server has no API for falls back to Analyze. */
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
  // `reload` shows the same address again (after a change the page made, or its Reload button).
  await pages[name]({ main, params: new URLSearchParams(query ?? ''), reload: route });
  main.dataset.ready = 'true';
}

async function start() {
  try {
    const [d, caps] = await Promise.all([gql('{ saes { id model layer k codebookSize hasNormalizationStats isDemo notice } }'), capabilities()]);
    state.saes = d.saes; state.caps = caps;
  } catch (e) {
    main.innerHTML = `<p>The platform's API is not answering:</p>${errorHtml(e)}`;
    return;
  }
  saeSelect.innerHTML = state.saes.map(s => `<option value="${esc(s.id)}">${esc(s.id)} (layer ${s.layer}, ${s.codebookSize} features)</option>`).join('');
  const stored = storedSae();
  const first = state.saes.some(s => s.id === stored) ? stored : defaultSae(state.saes)?.id;
  if (first) showSae(first);
  saeSelect.addEventListener('change', () => { storeSae(currentSae()); state.analysis = null; esmc.analysis = null; route(); });
  document.querySelector('nav a[data-page=search]').hidden = !state.caps.query.has('searchFeatures');
  document.querySelector('nav a[data-page=curate]').hidden = !state.caps.query.has('reviewQueue');
  esmc.caps = { query: [...state.caps.query], mutation: [...state.caps.mutation], feature: [...state.caps.feature] };
  window.addEventListener('hashchange', route);
  await route();
  esmc.ready = true;
}
start();
