// HTTP/1.1 over a bare socket, for what fetch cannot do: send arbitrary
// bytes in headers, see response headers as bytes, stall a body.
import net from 'node:net';
import { within } from './helpers.mjs';

/** Bytes from ASCII text and Buffers, joined. */
export const bytes = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));

/**
 * Sends `request` (a whole request, with `Connection: close`) and reads
 * until the server closes. Resolves with the status, the header values as
 * Buffers by lower-case name, and the body.
 */
export async function exchange(port, request, ms = 10000) {
  const socket = net.connect(port, '127.0.0.1');
  const chunks = [];
  socket.on('data', (c) => chunks.push(c));
  const closed = new Promise((resolve, reject) => {
    socket.on('end', resolve);
    socket.on('error', reject);
  });
  socket.write(request);
  try {
    await within(closed, ms, 'the server to answer and close');
  } finally {
    socket.destroy();
  }
  return parse(Buffer.concat(chunks));
}

export function parse(response) {
  const end = response.indexOf('\r\n\r\n');
  const lines = response.subarray(0, end).toString('latin1').split('\r\n');
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = Buffer.from(line.slice(colon + 1).trim(), 'latin1');
  }
  return { status: Number(lines[0].split(' ')[1]), headers, body: response.subarray(end + 4) };
}
