import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerPool, createDocrootHandler } from 'php-zygote';
import { killAll } from './helpers.mjs';
import { runCli, startCli } from './cli-process.mjs';
import { fixtures, makeSite } from './docroot-site.mjs';

const test = suite('Document root: options and CLI flags are validated with messages that name them; the CLI serves a docroot');

let cleanups = [];
test.after.each(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await killAll();
});

/** A pool that is never started: validation happens before any use of it. */
const idlePool = () => new WorkerPool({ script: `${fixtures}apps/docroot-echo.php`, workers: 1 });

test('createDocrootHandler refuses bad options with a TypeError naming the option', async () => {
  const site = makeSite();
  cleanups.push(site.remove);
  const pool = idlePool();
  cleanups.push(() => pool.close());
  const cases = [
    [{}, /options\.docroot must be the path of an existing directory/],
    [{ docroot: `${site.www}/assets/style.css` }, /options\.docroot must be the path of an existing directory/],
    [{ docroot: site.www, index: ['a/b.php'] }, /options\.index must be a list of file names/],
    [{ docroot: site.www, index: 'index.php' }, /options\.index/],
    [{ docroot: site.www, fallback: 'index.php' }, /options\.fallback must be the URL path of a \.php script/],
    [{ docroot: site.www, fallback: '/../x.php' }, /options\.fallback/],
    [{ docroot: site.www, aliases: { 'wp/': site.extra } }, /options\.aliases: "wp\/" must be a URL path prefix/],
    [{ docroot: site.www, aliases: { '/wp/': `${site.dir}/none` } }, /options\.aliases: "\/wp\/" must map to an existing directory/],
    [{ docroot: site.www, deny: ['('] }, /options\.deny: "\(" is not a regular expression/],
    [{ docroot: site.www, deny: '\\.git' }, /options\.deny must be an array/],
    [{ docroot: site.www, serverName: 'a b' }, /options\.serverName must be a host name/],
    [{ docroot: site.www, maxBodySize: -1 }, /options\.maxBodySize must be a non-negative integer/],
    [{ docroot: site.www, timeout: 'soon' }, /options\.timeout/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => createDocrootHandler(pool, options), (e) => e instanceof TypeError && message.test(e.message), JSON.stringify(options));
  }
  assert.throws(() => createDocrootHandler({}, { docroot: site.www }), /pool must be a WorkerPool/);
  assert.type(createDocrootHandler(pool, { docroot: site.www, fallback: '/index.php', deny: [/x/g] }), 'function');
});

test('CLI flag errors name the flag and exit 64 before anything starts', async () => {
  const site = makeSite();
  cleanups.push(site.remove);
  const app = ['--docroot-app', `${fixtures}apps/docroot-echo.php`];
  const cases = [
    [['serve', '--docroot', `${site.dir}/none`, ...app], /--docroot must be the path of an existing directory/],
    [['serve', '--docroot', site.www, '--fallback', 'index.php', ...app], /--fallback must be the URL path/],
    [['serve', '--docroot', site.www, '--index', 'a/b', ...app], /--index must be a list of file names/],
    [['serve', '--docroot', site.www, '--alias', '/wp', ...app], /--alias must be \/url\/=\/dir\//],
    [['serve', '--docroot', site.www, '--alias', `/wp/=${site.dir}/none`, ...app], /--alias: "\/wp\/" must map to an existing directory/],
    [['serve', '--docroot', site.www, '--deny', '(', ...app], /--deny: "\(" is not a regular expression/],
    [['serve', '--docroot', site.www, '--server-name', 'a b', ...app], /--server-name must be a host name/],
    [['serve', '--docroot', site.www, '--docroot-app', `${site.dir}/none.php`], /--docroot-app: the document root runtime .*none\.php does not exist/],
    [['serve', `${fixtures}apps/docroot-echo.php`, '--fallback', '/index.php'], /--fallback needs --docroot/],
    [['serve', `${fixtures}apps/docroot-echo.php`, '--docroot', site.www], /without an <app\.php>/],
  ];
  for (const [args, message] of cases) {
    const { code, text } = await runCli(args);
    assert.is(code, 64, args.join(' '));
    assert.match(text, message);
  }
});

test('php-zygote serve --docroot serves static files, scripts with PATH_INFO, the fallback and aliases', async () => {
  const site = makeSite();
  cleanups.push(site.remove);
  const { url, output } = await startCli(cleanups, ['serve', '--docroot', site.www, '--docroot-app', `${fixtures}apps/docroot-echo.php`,
    '--port', '0', '--workers', '1', '--fallback', '/index.php', '--index', 'index.html,index.php', '--alias', `/wp-content/=${site.extra}/`, '--deny', '^/sub/page']);
  assert.match(output().out, new RegExp(`serving ${site.www} on`));
  assert.is(await (await fetch(`${url}/assets/style.css`)).text(), 'body { color: red; }\n');
  const split = await (await fetch(`${url}/index.php/a/b`)).json();
  assert.is(split.server.PATH_INFO, '/a/b');
  const front = await (await fetch(`${url}/pretty/url?x=1`)).json();
  assert.is(front.server.SCRIPT_NAME, '/index.php');
  assert.is(front.server.REQUEST_URI, '/pretty/url?x=1');
  assert.is(await (await fetch(`${url}/wp-content/extra.css`)).text(), '.extra { }\n');
  assert.is((await fetch(`${url}/sub/page.php`)).status, 403);
  assert.is((await fetch(`${url}/.git/config`)).status, 403);
});

test.run();
