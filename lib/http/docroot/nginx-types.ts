/**
 * nginxContentType(file): the Content-Type nginx gives a static file, so
 * that assets answer byte for byte as they do behind nginx + php-fpm.
 *
 * The table is nginx's own `mime.types`, transcribed from Debian 12's
 * /etc/nginx/mime.types (nginx-common 1.22.1, the same as nginx's
 * conf/mime.types, which its maintainers keep frozen: nginx/nginx issue
 * 432), used as Debian's nginx.conf uses it, with `default_type
 * application/octet-stream` for any other extension. nginx adds no
 * `; charset=` unless the `charset` directive is set, and it is off by
 * default, so no type here carries one. (Node's `send`, through
 * mime-types, would say `text/html; charset=UTF-8` and
 * `text/javascript; charset=UTF-8`.)
 *
 * One deliberate departure: `.mjs` is `application/javascript`, nginx's
 * name for `.js`. Stock nginx does not list it and answers
 * application/octet-stream, which browsers refuse for module scripts
 * ("Expected a JavaScript module script"), so every nginx set-up that
 * serves ES modules has to add it.
 */
import { extname } from 'node:path';

const NGINX_MIME_TYPES: Record<string, string> = {
  'text/html': 'html htm shtml',
  'text/css': 'css',
  'text/xml': 'xml',
  'image/gif': 'gif',
  'image/jpeg': 'jpeg jpg',
  'application/javascript': 'js mjs', // mjs: ours, see above
  'application/atom+xml': 'atom',
  'application/rss+xml': 'rss',

  'text/mathml': 'mml',
  'text/plain': 'txt',
  'text/vnd.sun.j2me.app-descriptor': 'jad',
  'text/vnd.wap.wml': 'wml',
  'text/x-component': 'htc',

  'image/avif': 'avif',
  'image/png': 'png',
  'image/svg+xml': 'svg svgz',
  'image/tiff': 'tif tiff',
  'image/vnd.wap.wbmp': 'wbmp',
  'image/webp': 'webp',
  'image/x-icon': 'ico',
  'image/x-jng': 'jng',
  'image/x-ms-bmp': 'bmp',

  'font/woff': 'woff',
  'font/woff2': 'woff2',

  'application/java-archive': 'jar war ear',
  'application/json': 'json',
  'application/mac-binhex40': 'hqx',
  'application/msword': 'doc',
  'application/pdf': 'pdf',
  'application/postscript': 'ps eps ai',
  'application/rtf': 'rtf',
  'application/vnd.apple.mpegurl': 'm3u8',
  'application/vnd.google-earth.kml+xml': 'kml',
  'application/vnd.google-earth.kmz': 'kmz',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.ms-fontobject': 'eot',
  'application/vnd.ms-powerpoint': 'ppt',
  'application/vnd.oasis.opendocument.graphics': 'odg',
  'application/vnd.oasis.opendocument.presentation': 'odp',
  'application/vnd.oasis.opendocument.spreadsheet': 'ods',
  'application/vnd.oasis.opendocument.text': 'odt',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.wap.wmlc': 'wmlc',
  'application/wasm': 'wasm',
  'application/x-7z-compressed': '7z',
  'application/x-cocoa': 'cco',
  'application/x-java-archive-diff': 'jardiff',
  'application/x-java-jnlp-file': 'jnlp',
  'application/x-makeself': 'run',
  'application/x-perl': 'pl pm',
  'application/x-pilot': 'prc pdb',
  'application/x-rar-compressed': 'rar',
  'application/x-redhat-package-manager': 'rpm',
  'application/x-sea': 'sea',
  'application/x-shockwave-flash': 'swf',
  'application/x-stuffit': 'sit',
  'application/x-tcl': 'tcl tk',
  'application/x-x509-ca-cert': 'der pem crt',
  'application/x-xpinstall': 'xpi',
  'application/xhtml+xml': 'xhtml',
  'application/xspf+xml': 'xspf',
  'application/zip': 'zip',

  // bin exe dll deb dmg iso img msi msp msm are listed as
  // application/octet-stream, the default_type anyway.

  'audio/midi': 'mid midi kar',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
  'audio/x-m4a': 'm4a',
  'audio/x-realaudio': 'ra',

  'video/3gpp': '3gpp 3gp',
  'video/mp2t': 'ts',
  'video/mp4': 'mp4',
  'video/mpeg': 'mpeg mpg',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'video/x-flv': 'flv',
  'video/x-m4v': 'm4v',
  'video/x-mng': 'mng',
  'video/x-ms-asf': 'asx asf',
  'video/x-ms-wmv': 'wmv',
  'video/x-msvideo': 'avi',
};

/** nginx's `default_type` in Debian's nginx.conf. */
export const NGINX_DEFAULT_TYPE = 'application/octet-stream';

const BY_EXTENSION = new Map<string, string>();
for (const [type, extensions] of Object.entries(NGINX_MIME_TYPES)) {
  for (const extension of extensions.split(' ')) BY_EXTENSION.set(extension, type);
}

/**
 * The type for `file` as nginx finds it: the extension is what follows
 * the last dot of the last path segment, a leading dot (`.htaccess`) not
 * counting (ngx_http_set_exten, as path.extname reads it), looked up
 * lower-cased (ngx_http_set_content_type lower-cases it: `LOGO.PNG` is
 * image/png).
 */
export function nginxContentType(file: string): string {
  return BY_EXTENSION.get(extname(file).slice(1).toLowerCase()) ?? NGINX_DEFAULT_TYPE;
}
