/**
 * receiveMultipart(req, ...): a multipart/form-data body taken apart in
 * Node, as php-fpm's PHP takes it apart (main/rfc1867.c), so that the job
 * carries fields and temp files instead of the raw body: a large upload
 * streams from the socket to a file (through @fastify/busboy, with back-
 * pressure) and is never held in memory, let alone twice.
 *
 * PHP's rules, applied here in its stead:
 *   - a part with a filename is a file, any other part a field;
 *   - an empty filename (a file input left empty): UPLOAD_ERR_NO_FILE (4),
 *     no temp file, not counted against max_file_uploads;
 *   - a file over upload_max_filesize: UPLOAD_ERR_INI_SIZE (1), over a
 *     MAX_FILE_SIZE field sent before it: UPLOAD_ERR_FORM_SIZE (2); its
 *     temp file is removed at once and its size and type are reported as
 *     0 and '';
 *   - a body that ends inside a file: UPLOAD_ERR_PARTIAL (3);
 *   - files past max_file_uploads are dropped, with PHP's warning;
 *     fields past max_input_vars too;
 *   - a body over post_max_size (Content-Length, or counted when chunked):
 *     nothing is kept, the script still runs, with empty $_POST and
 *     $_FILES and PHP's warning. This is php-fpm's own behaviour; the
 *     front's maxBodySize (413, nginx's client_max_body_size) is checked
 *     first and stays the hard limit.
 *
 * Strings are carried as bytes, one character per byte, like headers
 * (php/src/Http/HeaderBytes.php). Field values are read as such; names
 * and filenames come out of busboy's header parser as UTF-8 text and are
 * turned back into their UTF-8 bytes (a name that is not valid UTF-8
 * loses its invalid bytes). A part without Content-Type is reported as
 * text/plain (busboy's reading), and types are lower-cased.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { chown, unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Busboy, type BusboyFileStream, type BusboyInstance } from '@fastify/busboy';
import { BodyTimeoutError, BodyTooLargeError } from '../../errors.js';
import type { BodyLimits } from '../request-body.js';
import { createUploadDir, removeUploadDir } from './upload-dirs.js';
import type { UploadConfig } from './upload-options.js';

/** One $_FILES entry, as PHP builds it. */
export interface UploadedFile {
  name: string;
  full_path: string;
  type: string;
  tmp_name: string;
  error: number;
  size: number;
}

/** `context.upload` of a docroot job (docs/protocol.md "Document root jobs"). */
export interface UploadContext {
  fields: [string, string][];
  files: [string, UploadedFile][];
  /** PHP's request startup warnings for the limits applied. */
  warnings: string[];
}

export interface ReceivedUpload {
  upload: UploadContext;
  /** Removes the request's temp files; run once the job settled. */
  done: () => Promise<void>;
}

const UPLOAD_ERR_OK = 0;
const UPLOAD_ERR_INI_SIZE = 1;
const UPLOAD_ERR_FORM_SIZE = 2;
const UPLOAD_ERR_PARTIAL = 3;
const UPLOAD_ERR_NO_FILE = 4;

/**
 * Resolves once the whole body was read and every file is on disk, or
 * with null when the client left first (its files are removed). Rejects
 * with BodyTooLargeError (maxBodySize) or BodyTimeoutError, its files
 * removed too.
 */
export function receiveMultipart(req: IncomingMessage, config: UploadConfig, { maxBodySize, bodyTimeout }: BodyLimits): Promise<ReceivedUpload | null> {
  req.on('error', () => {}); // reported by 'close', as in readBody()
  const upload: UploadContext = { fields: [], files: [], warnings: [] };
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBodySize) return Promise.reject(new BodyTooLargeError(maxBodySize));

  let dir: Promise<string> | null = null;
  const done = async () => {
    if (dir) await removeUploadDir(await dir.catch(() => ''));
  };
  const uploadDir = () => (dir ??= createUploadDir(config.uploadDir, config.owner));
  const writes: Promise<void>[] = [];
  // File parts not yet at their end: a body that stops (client gone,
  // limit, timeout, malformed) ends them as partial, so no write waits
  // forever.
  const open = new Set<BusboyFileStream>();

  return new Promise<ReceivedUpload | null>((resolve, reject) => {
    let received = 0;
    let settled = false;
    let discarded = false;
    let parser: BusboyInstance | null = null;
    const overPostMaxSize = (length: number) => {
      discarded = true;
      upload.fields = [];
      upload.files = [];
      upload.warnings = [`POST Content-Length of ${length} bytes exceeds the limit of ${config.postMaxSize} bytes`];
    };
    const stopParser = () => {
      parser?.removeAllListeners('finish');
      parser = null;
      for (const stream of open) stream.destroy(new Error('the multipart body ended inside this file'));
    };
    const finish = (outcome: 'ok' | 'gone' | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      stopParser();
      // What is left of the body is not ours: let it flow (Node discards it).
      req.resume();
      // Files still being written end first, so that done() removes them all.
      void Promise.allSettled(writes).then(async () => {
        if (outcome === 'ok' && !discarded) {
          resolve({ upload, done });
          return;
        }
        await done();
        if (outcome === 'ok') resolve({ upload, done });
        else if (outcome === 'gone') resolve(null);
        else reject(outcome);
      });
    };

    if (config.postMaxSize > 0 && declared > config.postMaxSize) {
      overPostMaxSize(declared);
    } else {
      try {
        parser = startParser(req, config, upload, (stream, entry, maxFileSize) => {
          open.add(stream);
          stream.once('close', () => open.delete(stream));
          writes.push(saveFile(stream, entry, config, maxFileSize, uploadDir));
        });
        parser.on('finish', () => finish('ok'));
        // A malformed body (a boundary never closed): what was complete is
        // kept, a file still open is reported partial (saveFile).
        parser.on('error', () => finish('ok'));
      } catch (e) {
        // Busboy refuses a Content-Type without a boundary, as PHP does.
        upload.warnings.push(`Missing boundary in multipart/form-data POST data (${(e as Error).message})`);
      }
    }

    const onData = (chunk: Buffer) => {
      received += chunk.length;
      timer.refresh();
      if (received > maxBodySize) {
        finish(new BodyTooLargeError(maxBodySize));
        return;
      }
      if (parser === null) return; // drained: nothing of it is kept
      if (config.postMaxSize > 0 && received > config.postMaxSize) {
        // A chunked body without Content-Length: PHP would have refused it
        // whole, so nothing is kept (files written so far are removed).
        stopParser();
        overPostMaxSize(received);
        return;
      }
      if (!parser.write(chunk)) {
        req.pause();
        parser.once('drain', () => req.resume());
      }
    };
    const onEnd = () => {
      if (parser === null) {
        if (discarded) overPostMaxSize(received);
        finish('ok');
      } else {
        parser.end();
      }
    };
    // 'close' follows 'end' too (the request is complete, while the last
    // file is still being written): only an incomplete body means gone.
    const onClose = () => {
      if (!req.complete) finish('gone');
    };
    const timer = setTimeout(() => finish(new BodyTimeoutError(bodyTimeout)), bodyTimeout);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}

type OnFile = (stream: BusboyFileStream, entry: UploadedFile, maxFileSize: number) => void;

function startParser(req: IncomingMessage, config: UploadConfig, upload: UploadContext, onFile: OnFile): BusboyInstance {
  const limit = config.postMaxSize > 0 ? config.postMaxSize : Infinity;
  const parser = Busboy({
    headers: req.headers as { 'content-type': string },
    // Field values as bytes, one character each (a part that names its
    // own charset is decoded with it, as busboy does).
    defCharset: 'latin1',
    // PHP reports the path as sent in full_path and its last segment in name.
    preservePath: true,
    // PHP's rule: a filename makes a file, whatever the Content-Type.
    isPartAFile: (_field, _type, filename) => filename !== undefined,
    limits: { fieldSize: limit, fieldNameSize: limit },
  });
  let filesLeft = config.maxFileUploads;
  let maxFileSize = 0;
  let fieldsSeen = 0;

  parser.on('field', (name, value) => {
    const field = utf8Bytes(name);
    if (++fieldsSeen > config.maxInputVars) {
      if (fieldsSeen === config.maxInputVars + 1) upload.warnings.push(`Input variables exceeded ${config.maxInputVars}. To increase the limit change max_input_vars in php.ini.`);
      return;
    }
    // PHP's hidden-field limit for the files that follow (strtol: leading digits).
    if (field.toLowerCase() === 'max_file_size') maxFileSize = Number.parseInt(value, 10) || 0;
    upload.fields.push([field, value]);
  });

  parser.on('file', (name, stream, filename, _encoding, mimeType) => {
    const field = utf8Bytes(name);
    const fullPath = utf8Bytes(filename);
    const entry: UploadedFile = { name: basename(fullPath), full_path: fullPath, type: '', tmp_name: '', error: UPLOAD_ERR_OK, size: 0 };
    if (filesLeft <= 0) {
      upload.warnings.push('Maximum number of allowable file uploads has been exceeded');
      stream.resume();
      return;
    }
    upload.files.push([field, entry]);
    if (fullPath === '') {
      entry.error = UPLOAD_ERR_NO_FILE;
      stream.resume();
      return;
    }
    filesLeft--;
    // PHP keeps the type up to its first ';' ("fix for Opera 6.01").
    entry.type = mimeType.split(';')[0];
    onFile(stream, entry, maxFileSize);
  });
  return parser;
}

/**
 * Streams one file part to a new temp file, with backpressure, enforcing
 * the size limits as PHP does: past a limit the file is not kept.
 */
async function saveFile(stream: BusboyFileStream, entry: UploadedFile, config: UploadConfig, maxFileSize: number, uploadDir: () => Promise<string>): Promise<void> {
  stream.pause();
  let dir: string;
  try {
    dir = await uploadDir();
  } catch {
    entry.error = 6; // UPLOAD_ERR_NO_TMP_DIR: PHP's answer when it cannot make its temp file
    entry.type = '';
    stream.resume();
    return;
  }
  // PHP's names: "php" and 6 random characters.
  const path = join(dir, `php${randomBytes(6).toString('base64url').slice(0, 6)}`);
  const file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  const opened = new Promise<void>((resolve) => file.once('open', () => resolve()).once('error', () => resolve()));
  let size = 0;
  let error = UPLOAD_ERR_OK;
  await new Promise<void>((resolve) => {
    const stop = (code: number) => {
      error = code;
      stream.off('data', onData);
      stream.resume(); // the rest of the part is read and dropped
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (config.uploadMaxFilesize > 0 && size > config.uploadMaxFilesize) return stop(UPLOAD_ERR_INI_SIZE);
      if (maxFileSize > 0 && size > maxFileSize) return stop(UPLOAD_ERR_FORM_SIZE);
      if (!file.write(chunk)) {
        stream.pause();
        file.once('drain', () => stream.resume());
      }
    };
    stream.on('data', onData);
    // Busboy errors the part's stream when the body ends inside it.
    stream.once('error', () => {
      if (error === UPLOAD_ERR_OK) error = UPLOAD_ERR_PARTIAL;
      resolve();
    });
    stream.once('end', () => resolve());
    file.once('error', () => stop(6));
    stream.resume();
  });
  await opened;
  await new Promise<void>((resolve) => (file as WriteStream).end(() => resolve()));
  if (file.errored) error = error === UPLOAD_ERR_OK ? 6 : error;
  entry.error = error;
  if (error !== UPLOAD_ERR_OK) {
    await unlink(path).catch(() => {});
    if (error !== UPLOAD_ERR_PARTIAL) entry.type = '';
    return;
  }
  if (config.owner) await chown(path, config.owner.uid, config.owner.gid);
  entry.tmp_name = path;
  entry.size = size;
}

/** PHP's php_ap_basename(): what follows the last '/' or '\'. */
function basename(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

/** The UTF-8 bytes of a text string, one character per byte. */
function utf8Bytes(text: string | undefined): string {
  return text === undefined ? '' : Buffer.from(text, 'utf8').toString('latin1');
}
