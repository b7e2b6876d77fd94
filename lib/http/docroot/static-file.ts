/**
 * serveStatic(req, res, root, file): a file of the document root answered
 * by Node, never by PHP, with the `send` package (the engine of Express's
 * serve-static): ETag and Last-Modified,
 * conditional GET (304) and If-Range, single byte ranges (206, 416),
 * HEAD, and a stream read at the client's pace.
 *
 * locate() has already decided that `file` is a file inside `root` and
 * may be served; send is given the same decision, not asked to make it:
 * dotfiles 'allow' (the dot rules ran on the URL), no index, and a
 * directory (the file was replaced by one meanwhile) is a 404, not send's
 * redirect.
 * send percent-decodes the path it gets, so each segment is encoded for
 * it: a file named `a%20b.css` is not looked up as `a b.css`.
 *
 * The Content-Type is nginx's for the extension (nginx-types.ts), set in
 * send's 'headers' event (the hook serve-static's setHeaders uses), which
 * comes before send picks its own type and makes it keep ours.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import send from 'send';
import { sendStatus } from '../php-exchange.js';
import { nginxContentType } from './nginx-types.js';
import { encodeUrlPath } from './url-path.js';

export function serveStatic(req: IncomingMessage, res: ServerResponse, root: string, file: string): void {
  const relative = root === '/' ? file : file.slice(root.length);
  send(req, encodeUrlPath(relative), { root, dotfiles: 'allow', index: false })
    .on('headers', () => res.setHeader('content-type', nginxContentType(file)))
    .on('error', (error: Error & { status?: number; headers?: Record<string, string> }) => {
      if (res.headersSent) {
        // The file went away or failed mid-stream: the length promised
        // cannot be kept, so the connection is cut, not padded.
        res.destroy(error);
        return;
      }
      // send may have set ETag, Content-Range and the like for the answer
      // it was preparing; the error answer carries only its own.
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      sendStatus(res, error.status ?? 500, error.headers ?? {});
    })
    .on('directory', () => sendStatus(res, 404))
    .pipe(res);
}
