// Where the page's files are, for the node tests: the sources in the repository, not a build's copy.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const wwwroot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/EsmcFeaturePlatform.Web/wwwroot');
export const js = path.join(wwwroot, 'js');
/** An import specifier of a page module, e.g. page('format.js'), for `await import(...)`. */
export const page = file => new URL('file://' + path.join(js, file)).href;
