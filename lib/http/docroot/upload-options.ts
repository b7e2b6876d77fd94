/**
 * The limits and place of multipart uploads in docroot mode, validated
 * once (a sync TypeError naming the option). The limits are php.ini's,
 * with php.ini's defaults, because the front applies them in PHP's stead
 * (multipart-intake.ts) and an app reads them back with ini_get(): set
 * the same values in the pool's `ini` (the CLI's flags do both).
 */
import { tmpdir } from 'node:os';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseBytes } from '../../process/memory.js';
import { resolveIdentity } from '../../zygote/identity.js';

export interface UploadOptions {
  /** Largest uploaded file, bytes or '2M' (php.ini upload_max_filesize); 0: no limit. Default 2M. */
  uploadMaxFilesize?: number | string;
  /** Largest multipart body PHP takes (php.ini post_max_size); above it the script runs with empty $_POST and $_FILES. 0: no limit. Default 8M. */
  postMaxSize?: number | string;
  /** Most files per request (php.ini max_file_uploads). Default 20. */
  maxFileUploads?: number;
  /** Most fields per request (php.ini max_input_vars). Default 1000. */
  maxInputVars?: number;
  /** Where each request's upload directory is made (php.ini upload_tmp_dir). Default os.tmpdir(). */
  uploadDir?: string;
  /** The pool's user and group, when PHP runs as another user: upload directories and files are given to them. */
  user?: string | number;
  group?: string | number;
}

export interface UploadConfig {
  readonly uploadMaxFilesize: number;
  readonly postMaxSize: number;
  readonly maxFileUploads: number;
  readonly maxInputVars: number;
  readonly uploadDir: string;
  /** Owner of upload directories and files, or null to keep Node's. */
  readonly owner: { readonly uid: number; readonly gid: number } | null;
}

export const UPLOAD_DEFAULTS = Object.freeze({ uploadMaxFilesize: 2 * 1024 * 1024, postMaxSize: 8 * 1024 * 1024, maxFileUploads: 20, maxInputVars: 1000 });

export function resolveUploadOptions(options: UploadOptions): UploadConfig {
  const { uploadMaxFilesize = UPLOAD_DEFAULTS.uploadMaxFilesize, postMaxSize = UPLOAD_DEFAULTS.postMaxSize, maxFileUploads = UPLOAD_DEFAULTS.maxFileUploads, maxInputVars = UPLOAD_DEFAULTS.maxInputVars, uploadDir, user, group } = options;
  const fileSize = size(uploadMaxFilesize);
  if (!Number.isFinite(fileSize)) throw new TypeError(`options.uploadMaxFilesize must be a number of bytes or a size like '2M' (got ${String(uploadMaxFilesize)})`);
  const postSize = size(postMaxSize);
  if (!Number.isFinite(postSize)) throw new TypeError(`options.postMaxSize must be a number of bytes or a size like '8M' (got ${String(postMaxSize)})`);
  if (!Number.isInteger(maxFileUploads) || maxFileUploads < 0) throw new TypeError(`options.maxFileUploads must be a non-negative integer (got ${String(maxFileUploads)})`);
  if (!Number.isInteger(maxInputVars) || maxInputVars < 1) throw new TypeError(`options.maxInputVars must be a positive integer (got ${String(maxInputVars)})`);
  if (uploadDir !== undefined && !(typeof uploadDir === 'string' && uploadDir !== '' && isDirectory(uploadDir))) throw new TypeError(`options.uploadDir must be the path of an existing directory (got ${String(uploadDir)})`);
  if (group !== undefined && user === undefined) throw new TypeError('options.group needs options.user');
  const identity = user === undefined ? null : resolveIdentity(user, group);
  return Object.freeze({
    uploadMaxFilesize: fileSize,
    postMaxSize: postSize,
    maxFileUploads,
    maxInputVars,
    uploadDir: resolve(uploadDir ?? tmpdir()),
    owner: identity === null ? null : Object.freeze({ uid: identity.uid, gid: identity.gid }),
  });
}

function size(value: unknown): number {
  if (typeof value !== 'number' && typeof value !== 'string') return NaN;
  const bytes = parseBytes(value);
  return Number.isInteger(bytes) && bytes >= 0 ? bytes : NaN;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
