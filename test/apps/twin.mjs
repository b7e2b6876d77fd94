// Twin: one browser session per server, driven in lock step. Each step
// sends the same request (built per side, for tokens each side's own
// pages handed out) first to the reference (nginx + php-fpm), then to
// php-zygote, and records side by side every compared field that
// differs: status, redirect target (the server's own origin normalised),
// names of the cookies set or removed, Content-Type, content markers,
// for static files the bytes, and for the server's own error pages the
// page (its signature normalised).
//
// Each server has its own copy of the app's state, made from one
// snapshot in the test's set-up, so both see the same state at each
// compared request (and the step leaves both in the same state).
import { createHash } from 'node:crypto';
import { within } from '../helpers.mjs';

export const REFERENCE = 'nginx + php-fpm';
export const SUBJECT = 'php-zygote';

export class Twin {
  /** @param sides {reference: {url, port}, subject: {url, port}} */
  constructor({ reference, subject }) {
    this.sides = [
      { name: REFERENCE, ...reference, jar: new Map() },
      { name: SUBJECT, ...subject, jar: new Map() },
    ];
    this.differences = [];
    this.compared = 0;
  }

  /**
   * One request to both servers. `request` is { path, method, form, headers }
   * or a function of the side's previous answers ({ name, last }) returning one.
   * Options: markers (strings or regexps the reference's body must hold;
   * php-zygote's is compared), sameBody (a static file: compare the
   * bytes), serverPage (an answer the server makes itself, 403/404:
   * compare the page, nginx's signature read as php-zygote's).
   * A request may carry `form` (urlencoded), `json`, or `multipart`
   * (multipart/form-data: each value a string or a file, { filename,
   * type, bytes }, sent as a browser sends a form with a file input).
   * Resolves with { reference, subject }: { status, headers, text, record }.
   */
  async step(label, request, { markers = [], sameBody = false, serverPage = false } = {}) {
    const answers = [];
    for (const side of this.sides) {
      const spec = typeof request === 'function' ? request(side) : request;
      const answer = await within(send(side, spec), 60000, `${side.name}: ${label}`);
      side.last = answer;
      answers.push(answer);
    }
    const [ref, sub] = answers;
    for (const marker of markers) {
      if (!has(ref.text, marker)) throw new Error(`${label}: the reference (${REFERENCE}) answered ${ref.status} without ${marker}; the step is wrong, not the subject (body: ${ref.text.length} bytes)`);
    }
    const fields = {
      status: [ref.status, sub.status],
      'redirect target': [ref.record.location, sub.record.location],
      'cookies set': [ref.record.cookies, sub.record.cookies],
      'content type': [ref.record.contentType, sub.record.contentType],
    };
    for (const marker of markers) fields[`marker ${marker}`] = ['present', has(sub.text, marker) ? 'present' : 'absent'];
    if (sameBody) fields['body sha256'] = [ref.record.sha256, sub.record.sha256];
    if (serverPage) fields['server page'] = [signedAsSubject(ref.text), sub.text];
    for (const [field, [a, b]] of Object.entries(fields)) {
      this.compared++;
      if (a !== b) this.differences.push({ step: label, field, reference: a, subject: b });
    }
    return { reference: ref, subject: sub };
  }

  /** The differences recorded since the last call, as a side-by-side table (empty string when none). */
  takeDifferences() {
    const rows = this.differences.splice(0);
    if (rows.length === 0) return '';
    const cell = (v) => String(v ?? '(none)').replace(/\|/g, '\\|');
    return [`| step | field | ${REFERENCE} | ${SUBJECT} |`, '|---|---|---|---|',
      ...rows.map((r) => `| ${cell(r.step)} | ${cell(r.field)} | ${cell(r.reference)} | ${cell(r.subject)} |`)].join('\n');
  }
}

/**
 * nginx's own page signed as php-zygote signs its own: nginx writes
 * `<hr><center>nginx/1.22.1</center>` (server_tokens on, the default) or
 * `nginx` (off).
 */
function signedAsSubject(text) {
  return text.replace(/<hr><center>nginx(\/[0-9.]+)?<\/center>/, `<hr><center>${SUBJECT}</center>`);
}

function has(text, marker) {
  return marker instanceof RegExp ? marker.test(text) : text.includes(marker);
}

async function send(side, { path, method = 'GET', form, json, multipart, headers = {} }) {
  const init = { method, redirect: 'manual', headers: { ...headers } };
  const cookie = [...side.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  if (cookie) init.headers.cookie = cookie;
  if (form) {
    init.body = new URLSearchParams(form).toString();
    init.headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (json) {
    init.body = JSON.stringify(json);
    init.headers['content-type'] = 'application/json';
  }
  if (multipart) {
    // fetch writes the body and its content-type with the boundary.
    init.body = new FormData();
    for (const [name, value] of Object.entries(multipart)) {
      if (typeof value === 'string') init.body.append(name, value);
      else init.body.append(name, new Blob([value.bytes], { type: value.type }), value.filename);
    }
  }
  const res = await fetch(side.url + path, init);
  const body = Buffer.from(await res.arrayBuffer());
  const cookies = [];
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (removes(value, attributes)) {
      side.jar.delete(name);
      cookies.push(`${normaliseName(name)} (removed)`);
    } else {
      side.jar.set(name, value);
      cookies.push(normaliseName(name));
    }
  }
  const location = res.headers.get('location');
  return {
    status: res.status,
    headers: res.headers,
    text: body.toString('utf8'),
    record: {
      location: location === null ? null : normaliseOrigin(location, side.port),
      cookies: [...new Set(cookies)].sort().join(', ') || null,
      contentType: res.headers.get('content-type'),
      sha256: createHash('sha256').update(body).digest('hex').slice(0, 16),
    },
  };
}

/** A Set-Cookie that deletes: PHP's "deleted" value, an Expires in the past or Max-Age <= 0. */
function removes(value, attributes) {
  if (value === 'deleted') return true;
  for (const attribute of attributes) {
    const [key, val = ''] = attribute.split('=').map((s) => s.trim());
    if (/^max-age$/i.test(key) && Number(val) <= 0) return true;
    // PHP writes Expires as "Thu, 01-Jan-1970 00:00:01 GMT" (RFC 850 dashes), which Date.parse does not read.
    if (/^expires$/i.test(key) && Date.parse(val.replace(/(\d+)-(\w+)-(\d+)/, '$1 $2 $3')) < Date.now()) return true;
  }
  return false;
}

/**
 * Cookie names that carry a hash of the site's URL (WordPress's
 * COOKIEHASH, md5 of the site URL; DokuWiki's DOKU_COOKIE, md5 of its
 * base and port) differ by port alone.
 */
function normaliseName(name) {
  return name.replace(/[0-9a-f]{32}/g, '<md5 of site URL>');
}

/** The server's own origin (plain or URL-encoded) as ORIGIN, so both sides compare. */
export function normaliseOrigin(text, port) {
  return text
    .replaceAll(`http://127.0.0.1:${port}`, 'ORIGIN')
    .replaceAll(`http%3A%2F%2F127.0.0.1%3A${port}`, 'ORIGIN')
    .replaceAll(`127.0.0.1:${port}`, 'HOST');
}
