// Issue 11's acceptance test, WordPress: Debian's package, unmodified,
// served by php-zygote serve --docroot and by nginx + php-fpm with the
// same worker count, each installed through itself on its own database,
// driven request by request as a browser would. Every compared field
// (test/apps/twin.mjs) must be the same on both.
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, ownUploadFolders, startWordpress, wordpressMissing } from './apps/wordpress.mjs';
import { formField } from './apps/html.mjs';
import { onePixelPng } from './apps/png.mjs';
import { prerequisites } from './apps/prerequisites.mjs';
import { sha256, twinSuite } from './apps/suite.mjs';

const { test, app } = twinSuite('WordPress (Debian) under php-zygote serve --docroot answers as under nginx + php-fpm', { missing: prerequisites([wordpressMissing()], { mariadb: true }), name: 'wordpress', start: startWordpress });

const TITLE = 'Zygote Test Blog';
const POST = 'Published through both servers';

test('the install runs through wp-admin/install.php on each server', async () => {
  await app.twin.step('GET / before the install', { path: '/' });
  await app.twin.step('GET /wp-admin/install.php', { path: '/wp-admin/install.php' }, { markers: ['wp-core-ui'] });
  await app.twin.step('POST install step 1 (language)', { path: '/wp-admin/install.php?step=1', method: 'POST', form: { language: '' } }, { markers: ['name="weblog_title"'] });
  const done = await app.twin.step('POST install step 2', {
    path: '/wp-admin/install.php?step=2',
    method: 'POST',
    form: { weblog_title: TITLE, user_name: ADMIN.user, admin_password: ADMIN.password, admin_password2: ADMIN.password, pw_weak: 'on', admin_email: ADMIN.email, blog_public: '0', Submit: 'Install WordPress', language: '' },
  }, { markers: ['wp-login.php'] });
  assert.match(done.reference.text, /Success!|installed/, 'the reference installed WordPress');
});

test('the home page, static files (through the wp-content alias too) and load-styles.php match', async () => {
  await app.twin.step('GET /', { path: '/' }, { markers: [TITLE, 'wp-block'] });
  await app.twin.step('GET a pretty URL (the fallback to index.php)', { path: '/no/such/page/' }, { markers: [TITLE] });
  await app.twin.step('GET a stylesheet', { path: '/wp-includes/css/dashicons.min.css' }, { sameBody: true });
  await app.twin.step('GET a script', { path: '/wp-includes/js/jquery/jquery.min.js' }, { sameBody: true });
  await app.twin.step('GET an image', { path: '/wp-admin/images/wordpress-logo.svg' }, { sameBody: true });
  await app.twin.step('GET the theme\'s stylesheet through /wp-content/', { path: '/wp-content/themes/twentytwentythree/style.css' }, { sameBody: true });
  await app.twin.step('GET a missing file under /wp-content/', { path: '/wp-content/no-such.css' }, { serverPage: true });
  await app.twin.step('GET /wp-admin/load-styles.php', { path: '/wp-admin/load-styles.php?c=0&dir=ltr&load%5Bchunk_0%5D=dashicons,admin-bar,buttons&ver=6.1.9' }, { markers: ['dashicons'] });
  await app.twin.step('GET /wp-includes/ (a directory without an index)', { path: '/wp-includes/' }, { serverPage: true });
});

let dashboard;
test('a login sets the same cookies and opens the dashboard', async () => {
  await app.twin.step('GET /wp-admin/ before login', { path: '/wp-admin/' });
  await app.twin.step('GET /wp-login.php', { path: '/wp-login.php' }, { markers: ['id="loginform"'] });
  const login = await app.twin.step('POST /wp-login.php', {
    path: '/wp-login.php',
    method: 'POST',
    form: { log: ADMIN.user, pwd: ADMIN.password, 'wp-submit': 'Log In', redirect_to: '/wp-admin/', testcookie: '1' },
  });
  assert.is(login.reference.status, 302, 'the reference accepted the login');
  ({ reference: dashboard } = await app.twin.step('GET /wp-admin/', { path: '/wp-admin/' }, { markers: ['Dashboard', 'wp-admin-bar-logout'] }));
  await app.twin.step('GET /wp-admin/options-general.php', { path: '/wp-admin/options-general.php' }, { markers: [`value="${TITLE}"`] });
});

test('a post published through the REST API with the editor\'s nonce is shown on the site', async () => {
  await app.twin.step('GET /wp-admin/post-new.php', { path: '/wp-admin/post-new.php' }, { markers: ['createNonceMiddleware'] });
  const created = await app.twin.step('POST the post to the REST API', ({ last }) => ({
    path: '/index.php?rest_route=/wp/v2/posts',
    method: 'POST',
    headers: { 'x-wp-nonce': /createNonceMiddleware\(\s*"([0-9a-f]+)"/.exec(last.text)?.[1] ?? '' },
    json: { title: POST, content: '<!-- wp:paragraph --><p>Saved by the acceptance test.</p><!-- /wp:paragraph -->', status: 'publish' },
  }), { markers: ['"status":"publish"'] });
  assert.is(created.reference.status, 201);
  const id = JSON.parse(created.reference.text).id;
  assert.is(JSON.parse(created.subject.text).id, id, 'the same post id on both (each database saw the same requests)');
  const short = await app.twin.step('GET the post\'s short link', { path: `/?p=${id}` });
  assert.is(short.reference.status, 301, 'the reference redirects to the permalink');
  const permalink = short.reference.record.location.replace('ORIGIN', '');
  await app.twin.step('GET the post at its permalink', { path: permalink }, { markers: [POST, 'Saved by the acceptance test.'] });
  await app.twin.step('GET the home page with the post', { path: '/' }, { markers: [POST] });
  await app.twin.step('GET the posts list in wp-admin', { path: '/wp-admin/edit.php' }, { markers: [POST] });
});

test('a media upload through wp-admin/async-upload.php is stored and served from /wp-content/uploads/', async () => {
  const png = onePixelPng();
  const folders = ownUploadFolders(app.cleanups, app.started);
  await app.twin.step('GET /wp-admin/media-new.php', { path: '/wp-admin/media-new.php' }, { markers: ['multipart_params', 'id="file-form"'] });
  // What plupload posts (wp-includes/js/plupload/handlers.js): its multipart_params, then the file as async-upload.
  const uploaded = await app.twin.step('POST /wp-admin/async-upload.php (multipart: async-upload, name, action, _wpnonce)', ({ last }) => ({
    path: '/wp-admin/async-upload.php',
    method: 'POST',
    multipart: {
      name: 'zygote-pixel.png',
      action: 'upload-attachment',
      _wpnonce: /"multipart_params":\{[^}]*"_wpnonce":"([0-9a-f]+)"/.exec(last.text)?.[1] ?? '',
      'async-upload': { filename: 'zygote-pixel.png', type: 'image/png', bytes: png },
    },
  }), { markers: ['"success":true', '"mime":"image\\/png"'] });
  const [reference, subject] = [uploaded.reference, uploaded.subject].map((answer) => JSON.parse(answer.text).data ?? {});
  // The attachment as WordPress read it (GD's size, the stored length): the same on both; its URLs differ by origin and folder.
  for (const key of ['id', 'filename', 'mime', 'width', 'height', 'filesizeInBytes']) {
    assert.is(subject[key], reference[key], `the attachment's ${key} on both`);
  }
  assert.equal([reference.width, reference.height, reference.filesizeInBytes], [1, 1, png.length], 'the reference stored the pixel');
  const served = await app.twin.step('GET the upload from its URL under /wp-content/uploads/', ({ last }) => ({ path: new URL(JSON.parse(last.text).data.url).pathname }), { sameBody: true });
  assert.is(served.reference.record.sha256, sha256(png), 'the reference served the uploaded bytes');
  for (const [side, attachment] of Object.entries({ reference, subject })) {
    // The URL ends in the folder's year/month/file.
    const stored = join(folders[side], ...new URL(attachment.url).pathname.split('/').slice(-3));
    assert.ok(readFileSync(stored).equals(png), `${side}: stored byte for byte at ${stored}`);
  }
  await app.twin.step('GET the media library', { path: '/wp-admin/upload.php?mode=list' }, { markers: ['zygote-pixel'] });
});

test('logout removes the auth cookies and wp-admin sends to the login again', async () => {
  const nonce = (text) => /wp-login\.php\?action=logout(?:&amp;|&#038;)_wpnonce=([0-9a-f]+)/.exec(text)?.[1] ?? '';
  const logout = await app.twin.step('GET logout', ({ last }) => ({ path: `/wp-login.php?action=logout&_wpnonce=${nonce(last.text)}` }));
  assert.match(logout.reference.record.cookies ?? '', /removed/, `the reference removed the auth cookies: ${logout.reference.status} ${JSON.stringify(logout.reference.record)} ${logout.reference.text.slice(0, 300)}`);
  await app.twin.step('GET /wp-admin/ after logout', { path: '/wp-admin/' });
});

test.run();
