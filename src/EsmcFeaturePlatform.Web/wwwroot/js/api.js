// The page's only way to the data: the platform's own GraphQL API (POST /graphql).
export class ApiError extends Error {
  constructor(message, code) { super(message); this.code = code; }
}

export async function gql(query, variables = {}, key = null) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = 'Bearer ' + key;
  let response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch (e) {
    throw new ApiError('The server cannot be reached: ' + e.message, 'NETWORK');
  }
  let body;
  try { body = await response.json(); } catch { throw new ApiError(`The server answered HTTP ${response.status}.`, 'HTTP'); }
  if (body.errors?.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, first.extensions?.code ?? 'ERROR');
  }
  return body.data;
}

let capabilitiesPromise;
/** Which optional parts of the schema this server has (search, curation, descriptions...). */
export function capabilities() {
  capabilitiesPromise ??= gql(`{ q: __type(name: "Query") { fields { name } } m: __type(name: "Mutation") { fields { name } }
      f: __type(name: "Feature") { fields { name } } }`)
    .then(d => ({
      query: new Set((d.q?.fields ?? []).map(f => f.name)),
      mutation: new Set((d.m?.fields ?? []).map(f => f.name)),
      feature: new Set((d.f?.fields ?? []).map(f => f.name)),
    }))
    .catch(() => fetch('/graphql/sdl').then(r => r.text()).then(parseSdl));
  return capabilitiesPromise;
}

function parseSdl(sdl) {
  const fields = name => {
    const out = new Set();
    for (const m of sdl.matchAll(new RegExp(`(?:extend )?type ${name}\\b[^{]*\\{([^}]*)\\}`, 'g')))
      for (const line of m[1].split('\n')) { const f = /^\s*(\w+)\s*[(:]/.exec(line); if (f) out.add(f[1]); }
    return out;
  };
  return { query: fields('Query'), mutation: fields('Mutation'), feature: fields('Feature') };
}

/** A message a person can act on, for an API error. */
export function explain(error) {
  switch (error.code) {
    case 'UNAUTHENTICATED': return 'Refused: this needs a curator key. Enter one above (it is kept only for this browser session). Nothing was changed.';
    // The server's message names the real cause (the role needed, a self-approval, who already reviewed a version,
    // which version is now the latest): show it, never a guess.
    case 'FORBIDDEN': return 'Refused: ' + error.message;
    case 'CONFLICT': return 'Conflict: ' + error.message;
    case 'SCREENED': return 'Refused by this server\'s biosecurity screening (controlled pathogens and toxins): the sequence or search was not processed. If you believe this is a mistake, contact the operator of this server.';
    case 'RATE_LIMITED': return 'Too many requests: wait a moment and try again.';
    default: return (error.code && error.code !== 'ERROR' ? error.code + ': ' : '') + error.message;
  }
}
