// What the pages share while the page is open: the server's SAEs and schema capabilities, the last analysis, the SAE
// picked in the header, this browser session's curator key; and window.esmc, the numbers behind what is drawn, for
// tests and other scripts. Nothing here touches the document until it is called.

export const state = { saes: [], caps: null, analysis: null };

/** Read by the browser tests: `ready`, `analysis`, `tracks()`, `pixel()`, `feature`, `structure`, `caps`. */
export const esmc = globalThis.esmc = {
  ready: false,
  analysis: null,
  tracks: () => esmc.analysis?.tracks.map(t => ({ index: t.index, values: [...t.values], scale: t.scale })) ?? [],
};

const saeSelect = () => document.getElementById('sae');
/** The SAE picked in the header. */
export const currentSae = () => saeSelect().value;
/** Picks an SAE in the header (without the change event: the caller is already showing it). */
export const showSae = id => { saeSelect().value = id; };
/** The picked SAE as the server describes it (undefined before the page has started). */
export const currentSaeInfo = () => state.saes.find(s => s.id === currentSae());

/** The SAE a browser that never picked one starts with: a real model before the random demo one, one with normalization statistics first. */
export const defaultSae = saes =>
  saes.find(s => s.hasNormalizationStats && !s.isDemo) ?? saes.find(s => !s.isDemo) ?? saes.find(s => s.hasNormalizationStats) ?? saes[0];

const SAE = 'esmc.sae';
/** The SAE this browser picked last ('' when none): the page and the GraphQL IDE start with it. */
export const storedSae = () => localStorage.getItem(SAE) || '';
export const storeSae = id => localStorage.setItem(SAE, id);

const KEY = 'esmc.curatorKey';
/** The curator key of this browser session ('' when none): sent with mutations, never stored beyond the session. */
export const curatorKey = () => sessionStorage.getItem(KEY) || '';
export const setCuratorKey = key => { if (key) sessionStorage.setItem(KEY, key); else sessionStorage.removeItem(KEY); };

const ANALYZED = 'esmc.sequence';
/** The protein analyzed last in this browser session, { id, sequence, sae }, or null: the Structure page aligns with it. */
export const lastAnalyzed = () => JSON.parse(sessionStorage.getItem(ANALYZED) || 'null');
export const rememberAnalyzed = ({ id, sequence, sae }) => sessionStorage.setItem(ANALYZED, JSON.stringify({ id, sequence, sae }));
