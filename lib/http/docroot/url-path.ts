/**
 * decodeUrlPath(target): the path of a request target, percent-decoded
 * once and normalised, the one form every later decision (deny rules,
 * aliases, the file looked up, PATH_INFO) is made on; or null when the
 * target is malformed or hostile, which the handler answers with 400.
 *
 * What the filesystem sees is built from these segments alone, so the
 * tricks that make a server open a file outside its root are settled
 * here, once, on the decoded bytes:
 *   - decoded exactly once: `%252e%252e` stays the name `%2e%2e`;
 *   - NUL (`%00`) and other control bytes: 400 (a C string would end there);
 *   - a backslash, raw or `%5c`: 400 (a path separator on other systems,
 *     and never needed in a URL of a PHP app);
 *   - bytes that are not valid UTF-8, overlong forms like `%c0%ae` (an
 *     old way to smuggle a dot) included: 400; Node's fs names files in
 *     UTF-8, so no such name could be meant;
 *   - `%2f` is a slash once decoded, as in nginx: it separates segments
 *     and cannot hide a `..` inside one;
 *   - `.` segments and empty ones (`//`) are dropped, `..` removes the
 *     segment before it (`%2e%2e` alike, after decoding), and a `..`
 *     that would climb above `/` is a 400, as nginx answers it.
 * The result starts with `/`, has no `.`, `..` or empty segments, and
 * keeps a trailing slash (it means "the directory").
 */

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUrlPath(target: string): string | null {
  let path = target;
  const query = path.indexOf('?');
  if (query !== -1) path = path.slice(0, query);
  // absolute-form (RFC 9112 §3.2.2, sent to proxies): only the path counts.
  const absolute = /^https?:\/\/[^/]*/i.exec(path);
  if (absolute) path = path.slice(absolute[0].length) || '/';
  if (!path.startsWith('/')) return null;

  const bytes = percentDecode(path);
  if (bytes === null) return null;
  for (const byte of bytes) {
    if (byte < 0x20 || byte === 0x7f || byte === 0x5c) return null;
  }
  let decoded: string;
  try {
    decoded = UTF8.decode(bytes);
  } catch {
    return null;
  }

  const segments: string[] = [];
  const parts = decoded.split('/');
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (segments.length === 0) return null;
      segments.pop();
      continue;
    }
    segments.push(part);
  }
  const last = parts[parts.length - 1];
  const directory = last === '' || last === '.' || last === '..';
  return segments.length === 0 ? '/' : `/${segments.join('/')}${directory ? '/' : ''}`;
}

/** The bytes of a percent-encoded string; null for a `%` not followed by two hex digits, or a character that is not ASCII. */
function percentDecode(text: string): Uint8Array | null {
  const out = new Uint8Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else if (code > 0x7f) {
      // Node's parser refuses such targets; a framework may hand one on.
      return null;
    } else {
      out[n++] = code;
    }
  }
  return out.subarray(0, n);
}

/** The path percent-encoded again for a Location header: each segment as encodeURIComponent leaves it. */
export function encodeUrlPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
