// Where the page's files are, for the node tests: the sources in the repository, not a build's copy.
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

export const wwwroot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/EsmcFeaturePlatform.Web/wwwroot');
export const js = path.join(wwwroot, 'js');
/** A page module's URL for `await import(...)`, e.g. page('format.js'), page('pages/feature.js'). */
export const page = file => pathToFileURL(path.join(js, file)).href;
