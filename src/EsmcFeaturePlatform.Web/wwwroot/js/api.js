// The page's only ways to the server: its GraphQL API (POST /graphql) and the one REST route the page needs
// (GET /api/v1/structures/alphafold/{id}). Every failure becomes an ApiError with the server's code (errors.js).
import { ApiError } from './errors.js';

/** The first of the answer's `errors` as an ApiError, or null when there is none. */
export function errorOf(body) {
  const first = body?.errors?.[0];
  if (!first) return null;
  const extensions = first.extensions ?? {};
  return new ApiError(first.message, extensions.code, extensions);
}

/** GETs or POSTs, turning "no answer" into NETWORK. */
async function send(url, init) {
  try { return await fetch(url, init); } catch (e) { throw new ApiError('The server cannot be reached: ' + e.message, 'NETWORK'); }
}

/** POSTs a GraphQL operation and returns the server's whole JSON answer ({ data, errors }); `key` (a curator key) goes in the Authorization header. */
export async function graphqlAnswer(query, variables = {}, key = null) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = 'Bearer ' + key;
  const response = await send('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  try { return await response.json(); } catch { throw new ApiError(`The server answered HTTP ${response.status}.`, 'HTTP'); }
}

/** Runs a GraphQL operation and returns its `data`; the answer's first error is thrown as an ApiError. */
export async function gql(query, variables = {}, key = null) {
  const body = await graphqlAnswer(query, variables, key);
  const error = errorOf(body);
  if (error) throw error;
  return body.data;
}

let capabilitiesPromise;
/** Which optional parts of the schema this server has (search, curation, descriptions...), asked once. */
export function capabilities() {
  capabilitiesPromise ??= gql(`{ q: __type(name: "Query") { fields { name } } m: __type(name: "Mutation") { fields { name } }
      f: __type(name: "Feature") { fields { name } } }`)
    .then(d => ({
      query: new Set((d.q?.fields ?? []).map(f => f.name)),
      mutation: new Set((d.m?.fields ?? []).map(f => f.name)),
      feature: new Set((d.f?.fields ?? []).map(f => f.name)),
    }))
    // A server that refuses introspection still publishes its SDL.
    .catch(() => send('/graphql/sdl').then(r => r.text()).then(parseSdl));
  return capabilitiesPromise;
}

/** The field names of Query, Mutation and Feature (and their `extend type`s) in an SDL text. */
export function parseSdl(sdl) {
  const fields = name => {
    const out = new Set();
    for (const m of sdl.matchAll(new RegExp(`(?:extend )?type ${name}\\b[^{]*\\{([^}]*)\\}`, 'g')))
      for (const line of m[1].split('\n')) { const f = /^\s*(\w+)\s*[(:]/.exec(line); if (f) out.add(f[1]); }
    return out;
  };
  return { query: fields('Query'), mutation: fields('Mutation'), feature: fields('Feature') };
}

/** The model file of a UniProt accession, fetched by this server from AlphaFold DB: { text, format, entry }. */
export async function fetchAlphaFold(id) {
  const response = await send('/api/v1/structures/alphafold/' + encodeURIComponent(id));
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { /* not the API's JSON: the status line says what happened */ }
    throw errorOf(body) ?? new ApiError(`The server answered HTTP ${response.status}.`, 'HTTP');
  }
  return { text: await response.text(), format: response.headers.get('x-esmc-structure-format') || 'pdb', entry: response.headers.get('x-esmc-structure-entry') || id };
}
