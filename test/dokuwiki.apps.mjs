// Issue 11's acceptance test, DokuWiki: Debian's package, unmodified,
// served by php-zygote serve --docroot and by nginx + php-fpm with the
// same worker count, each on its own copy of the same wiki, driven
// request by request as a browser would. Every compared field
// (test/apps/twin.mjs) must be the same on both.
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, dokuwikiMissing, startDokuwiki } from './apps/dokuwiki.mjs';
import { formField } from './apps/html.mjs';
import { onePixelPng } from './apps/png.mjs';
import { prerequisites } from './apps/prerequisites.mjs';
import { sha256, twinSuite } from './apps/suite.mjs';

const { test, app } = twinSuite('DokuWiki (Debian) under php-zygote serve --docroot answers as under nginx + php-fpm', { missing: prerequisites([dokuwikiMissing()]), name: 'dokuwiki', start: startDokuwiki });

const PAGE = 'playground:zygote';

test('the start page, its redirect from /, static files through the lib/tpl symlink and the generated stylesheet and script match', async () => {
  await app.twin.step('GET /', { path: '/' });
  await app.twin.step('GET /index.php', { path: '/index.php' });
  await app.twin.step('GET /doku.php', { path: '/doku.php' }, { markers: ['Debian DokuWiki', 'id="dokuwiki__content"', 'lib/exe/css.php'] });
  await app.twin.step('GET /doku.php?id=wiki:syntax (a page render)', { path: '/doku.php?id=wiki:syntax' }, { markers: ['Formatting Syntax', '<h1'] });
  await app.twin.step('GET a logo through the lib/tpl symlink', { path: '/lib/tpl/dokuwiki/images/logo.png' }, { sameBody: true });
  await app.twin.step('GET a static stylesheet', { path: '/lib/styles/screen.css' }, { sameBody: true });
  await app.twin.step('GET a static script', { path: '/lib/scripts/behaviour.js' }, { sameBody: true });
  await app.twin.step('GET /lib/exe/css.php', { path: '/lib/exe/css.php?t=dokuwiki&tseed=1' }, { markers: ['.dokuwiki'] });
  await app.twin.step('GET /lib/exe/js.php', { path: '/lib/exe/js.php?t=dokuwiki&tseed=1' }, { markers: ['DOKU_BASE'] });
  await app.twin.step('GET a missing page', { path: '/doku.php?id=no:such:page' }, { markers: ['This topic does not exist yet'] });
  await app.twin.step('GET a missing file', { path: '/lib/no-such-file.css' }, { serverPage: true });
});

test('the private folders, install.php and dotfiles are refused alike', async () => {
  for (const path of ['/conf/local.php', '/data/pages/start.txt', '/bin/dwpage.php', '/inc/init.php', '/vendor/autoload.php', '/install.php', '/.htaccess', '/lib/plugins/index.html']) {
    await app.twin.step(`GET ${path}`, { path }, { serverPage: path !== '/lib/plugins/index.html', sameBody: path === '/lib/plugins/index.html' });
  }
});

test('a login with the form\'s sectok sets the same cookies and opens the admin page', async () => {
  await app.twin.step('GET the login form', { path: '/doku.php?id=start&do=login' }, { markers: ['id="dw__login"'] });
  const login = await app.twin.step('POST the login form', ({ last }) => ({
    path: '/doku.php?id=start&do=login',
    method: 'POST',
    form: { sectok: formField(last.text, 'sectok'), id: 'start', do: 'login', u: ADMIN.user, p: ADMIN.password },
  }));
  assert.is(login.reference.status, 302, 'the reference accepted the login');
  await app.twin.step('GET the admin page', { path: '/doku.php?id=start&do=admin' }, { markers: ['loggedIn', 'admin&amp;page=usermanager', 'admin&amp;page=acl'] });
  await app.twin.step('GET the user manager', { path: '/doku.php?id=start&do=admin&page=usermanager' }, { markers: ['admin@example.org'] });
});

test('an edit saved with its sectok is stored and shown', async () => {
  await app.twin.step('GET the editor', { path: `/doku.php?id=${PAGE}&do=edit` }, { markers: ['id="wiki__text"'] });
  const text = '====== Zygote ======\n\nSaved through **both** servers.\n';
  await app.twin.step('POST the edit form (do[save])', ({ last }) => ({
    path: '/doku.php',
    method: 'POST',
    form: {
      sectok: formField(last.text, 'sectok'),
      id: PAGE,
      rev: formField(last.text, 'rev') ?? '',
      date: formField(last.text, 'date') ?? '',
      prefix: formField(last.text, 'prefix') ?? '',
      suffix: formField(last.text, 'suffix') ?? '',
      changecheck: formField(last.text, 'changecheck') ?? '',
      target: formField(last.text, 'target') ?? 'section',
      wikitext: text,
      summary: 'created by the acceptance test',
      'do[save]': 'Save',
    },
  }));
  await app.twin.step('GET the saved page', { path: `/doku.php?id=${PAGE}` }, { markers: ['Saved through <strong>both</strong> servers.'] });
  await app.twin.step('GET its revisions', { path: `/doku.php?id=${PAGE}&do=revisions` }, { markers: ['created by the acceptance test'] });
});

test('a media upload through the media manager is stored and served', async () => {
  const png = onePixelPng();
  const ns = 'playground';
  await app.twin.step('GET the media manager\'s upload tab', { path: `/doku.php?id=start&do=media&ns=${ns}&tab_files=upload` }, { markers: ['id="dw__upload"', 'name="upload"'] });
  // The form without JavaScript: its action is the media manager itself (media_uploadform, fullscreen).
  await app.twin.step('POST the upload form (multipart: upload, mediaid, sectok)', ({ last }) => ({
    path: `/doku.php?id=start&do=media&ns=${ns}&tab_files=files&tab_details=view`,
    method: 'POST',
    multipart: { sectok: formField(last.text, 'sectok'), ns, mediaid: 'zygote-form.png', upload: { filename: 'pixel.png', type: 'image/png', bytes: png } },
  }), { markers: ['Upload successful', `${ns}:zygote-form.png`] });
  // The uploader's XHR (script/media.js, qq.FileUploader): the file as qqfile, to ajax.php.
  await app.twin.step('POST lib/exe/ajax.php?call=mediaupload (multipart: qqfile, mediaid, sectok)', ({ last }) => ({
    path: `/lib/exe/ajax.php?call=mediaupload&ns=${ns}`,
    method: 'POST',
    multipart: { sectok: formField(last.text, 'sectok'), mediaid: 'zygote-ajax.png', qqfile: { filename: 'pixel.png', type: 'image/png', bytes: png } },
  }), { markers: ['"success":true', `"id":"${ns}:zygote-ajax.png"`] });
  for (const name of ['zygote-form.png', 'zygote-ajax.png']) {
    const fetched = await app.twin.step(`GET lib/exe/fetch.php?media=${ns}:${name}`, { path: `/lib/exe/fetch.php?media=${ns}:${name}` }, { sameBody: true });
    assert.is(fetched.reference.record.sha256, sha256(png), 'the reference served the uploaded bytes');
  }
  for (const side of ['reference', 'subject']) {
    for (const name of ['zygote-form.png', 'zygote-ajax.png']) {
      assert.ok(readFileSync(join(app.started.data[side], 'media', ns, name)).equals(png), `${side}: ${name} stored byte for byte in its own data/media`);
    }
  }
  await app.twin.step('GET the media manager\'s file list', { path: `/doku.php?id=start&do=media&ns=${ns}` }, { markers: ['zygote-form.png', 'zygote-ajax.png'] });
});

test('logout removes the session cookies and the admin page is refused again', async () => {
  const logout = await app.twin.step('GET logout', ({ last }) => ({ path: `/doku.php?id=start&do=logout&sectok=${encodeURIComponent(formField(last.text, 'sectok') ?? '')}` }));
  assert.match(logout.reference.record.cookies ?? '', /removed/, 'the reference removed the login cookie: the step logged out');
  await app.twin.step('GET the admin page after logout', { path: '/doku.php?id=start&do=admin' }, { markers: ['do=login'] });
});

test.run();
