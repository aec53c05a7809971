/**
 * HTTP over a bare TCP socket, for requests a real client would normalize or refuse to send
 * (over-long URLs, bad percent-encodings, malformed headers), and checks that an answer has
 * exactly the documented error shape.
 */
import assert from 'node:assert/strict';
import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
  /** Everything the server sent. */
  raw: string;
}

/**
 * Send `request` as is to the server of `url` (an http://host:port base), optionally end
 * our side after it, and read until the server closes or `timeoutMs` passes.
 */
export function rawRequest(
  url: string,
  request: string | Buffer,
  opts: { end?: boolean; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), opts.timeoutMs ?? 10_000);
    socket.on('data', (d) => chunks.push(d));
    // A server that closes while we still write may reset the connection: what it sent first
    // still counts.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(raw);
      if (!m) {
        reject(new Error(`no HTTP answer: ${JSON.stringify(raw.slice(0, 300))}`));
        return;
      }
      const headers: Record<string, string> = {};
      for (const line of m[2].split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let body = m[3];
      if (headers['content-length'] !== undefined) {
        body = Buffer.from(body).subarray(0, Number(headers['content-length'])).toString('utf8');
      }
      let json: any;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(m[1]), headers, body, json, raw });
    });
    socket.write(request);
    if (opts.end) socket.end();
  });
}

/** A request head (and body) with Host and Connection: close unless given (null drops one). */
export function httpText(
  method: string,
  path: string,
  headers: Record<string, string | number | null> = {},
  body = '',
): string {
  const all = { host: 'localhost', connection: 'close', ...headers };
  const lines = Object.entries(all)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}: ${v}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Assert an answer is exactly `{"error": {code, message}}` as JSON, with `status` and `code`. */
export function assertError(r: RawAnswer, status: number, code: string, what = ''): void {
  const ctx = `${what}: ${r.raw.slice(0, 400)}`;
  assert.equal(r.status, status, ctx);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, ctx);
  assert.ok(r.json && typeof r.json === 'object', ctx);
  assert.deepEqual(Object.keys(r.json), ['error'], ctx);
  assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message'], ctx);
  assert.equal(r.json.error.code, code, ctx);
  assert.equal(typeof r.json.error.message, 'string', ctx);
  assert.ok(r.json.error.message.length > 0, ctx);
  assert.ok(!r.json.error.message.includes('\n'), `one-line message ${ctx}`);
}
