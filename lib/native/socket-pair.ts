/**
 * Unix stream socket pairs: the channel between Node and each PHP process.
 * Both fds are close-on-exec and owned by the addon until closed, passed
 * to another process (then close our copy), or turned into a net.Socket.
 */
import * as net from 'node:net';
import { native } from './binding.js';
import type { NativeBinding } from '../../types/native.js';

export interface SocketPairOptions {
  /** Open both ends O_NONBLOCK. net.Socket sets this itself; default false. */
  nonblock?: boolean;
}

/** socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): two connected fds. */
export function socketPair(options: SocketPairOptions = {}, binding: NativeBinding = native): [number, number] {
  return binding.socketPair(options.nonblock ?? false);
}

/**
 * Wraps an fd in a net.Socket. From now on Node owns the fd: destroying
 * the socket closes it, and the addon will never close it again.
 */
export function socketFromFd(fd: number, binding: NativeBinding = native): net.Socket {
  if (!Number.isInteger(fd) || fd < 0) {
    throw new TypeError(`fd must be a non-negative integer (got ${String(fd)})`);
  }
  const socket = new net.Socket({ fd, readable: true, writable: true });
  binding.releaseFd(fd);
  return socket;
}
