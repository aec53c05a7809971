/**
 * One way for the node RPC and the console server to answer errors: every error, the
 * framework's and Node's HTTP parser's own included, is `{"error": {code, message}}` with the
 * code's HTTP status (docs/RPC.md, "Errors"). `createApiServer` builds a fastify instance
 * with the options, hooks and handlers that make this so.
 */
import {
  type IncomingMessage,
  type ServerOptions,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { ArchiError, type ErrorCode } from '../types/errors.ts';

/** Longest raw (percent-encoded) path parameter: a 1024-character state key, fully encoded. */
export const MAX_PARAM_LENGTH = 10 * 1024;

/**
 * Codes a route gives to errors of its body (route option `config: {bodyErrors}`): POST
 * /v1/txs answers TX_TOO_LARGE and TX_MALFORMED where other routes say BODY_TOO_LARGE and
 * INVALID_JSON.
 */
export interface BodyErrors {
  /** Body over the server's limit (default BODY_TOO_LARGE). */
  tooLarge?: ErrorCode;
  /** Empty JSON body (default INVALID_JSON). */
  empty?: ErrorCode;
}

export interface ApiServerOptions {
  /** Fastify options; the error-related ones are set here and must not be passed. */
  fastify?: Omit<
    FastifyServerOptions,
    'frameworkErrors' | 'clientErrorHandler' | 'return503OnClosing' | 'routerOptions'
  >;
  /** Options of Node's HTTP server (timeouts, header size). */
  http?: ServerOptions;
  /**
   * What a request no route matches gets (when no route has its path under another method
   * either): NOT_FOUND unless given.
   */
  notFound?: (req: FastifyRequest, reply: FastifyReply) => unknown;
}

/** Answer with an error body {"error": {code, message}} and the code's HTTP status. */
export function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  const err =
    e instanceof ArchiError
      ? e
      : new ArchiError('INTERNAL', e instanceof Error ? e.message : String(e));
  return reply.code(err.httpStatus).send({ error: err.toJSON() });
}

/** A whole HTTP/1.1 error answer as bytes, for places that hold a socket rather than a reply. */
export function rawErrorResponse(err: ArchiError, headers: Record<string, string> = {}): string {
  const body = JSON.stringify({ error: err.toJSON() });
  const status = err.httpStatus;
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n${extra}\r\n${body}`
  );
}

/** Write an error answer straight to a socket and close it (as Node's own parser errors do). */
export function writeRawError(
  socket: Duplex,
  err: ArchiError,
  headers: Record<string, string> = {},
): void {
  if (socket.writable) socket.write(rawErrorResponse(err, headers));
  socket.destroy();
}

/** The error an HTTP parser failure (Node's `clientError`) is answered with. */
export function clientErrorFor(err: {
  code?: string;
  message: string;
  rawPacket?: unknown;
}): ArchiError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new ArchiError('REQUEST_TIMEOUT', 'the request was not received in time');
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    // Node counts the request line with the headers; the chunk that overflowed tells which
    // one was long when it still holds an unfinished (or over-long) request line.
    const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket : Buffer.alloc(0);
    const head = raw.subarray(0, 16 * 1024).toString('latin1');
    const line = /^[A-Za-z]+ [^\r\n]*/.exec(head)?.[0];
    if (line !== undefined && (!head.includes('\r\n') || line.length > 8 * 1024)) {
      return new ArchiError(
        'URL_TOO_LONG',
        'the URL is too long (request line and headers: 16 KiB at most)',
      );
    }
    return new ArchiError('HEADERS_TOO_LARGE', 'the request headers exceed 16 KiB');
  }
  if (err.code === 'HPE_INVALID_EOF_STATE') {
    return new ArchiError('HTTP_MALFORMED', 'the connection ended inside the request');
  }
  const why = /^Parse Error: (.+)/.exec(err.message)?.[1] ?? err.code;
  return new ArchiError('HTTP_MALFORMED', `not a valid HTTP/1.1 request${why ? `: ${why}` : ''}`);
}

/** The answer to an error fastify raised (body parsing, routing) or a handler threw. */
export function errorFor(error: FastifyError | Error, req?: FastifyRequest): ArchiError {
  if (error instanceof ArchiError) return error;
  const e = error as FastifyError;
  const bodyErrors = (req?.routeOptions?.config as { bodyErrors?: BodyErrors } | undefined)
    ?.bodyErrors;
  switch (e.code) {
    case 'FST_ERR_BAD_URL':
      return new ArchiError('BAD_URL', 'the URL holds a malformed percent-encoding');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ArchiError(
        'URL_TOO_LONG',
        `a path segment of the URL is over ${MAX_PARAM_LENGTH} characters`,
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ArchiError(bodyErrors?.tooLarge ?? 'BODY_TOO_LARGE', 'request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ArchiError(
        'UNSUPPORTED_MEDIA_TYPE',
        `unsupported content-type ${JSON.stringify(String(req?.headers['content-type'] ?? ''))}`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ArchiError(bodyErrors?.empty ?? 'INVALID_JSON', 'the JSON body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ArchiError('INVALID_JSON', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ArchiError('HTTP_MALFORMED', 'the body does not match its Content-Length');
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413) {
    return new ArchiError(bodyErrors?.tooLarge ?? 'BODY_TOO_LARGE', 'request body is too large');
  }
  if (status === 415) return new ArchiError('UNSUPPORTED_MEDIA_TYPE', e.message);
  if (status >= 400 && status < 500) return new ArchiError('BAD_REQUEST', e.message);
  return new ArchiError('INTERNAL', e.message);
}

/** The charset a Content-Type names, lower-cased, or undefined. */
function charsetOf(contentType: string): string | undefined {
  const m = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(contentType);
  return m ? m[2].toLowerCase() : undefined;
}

/** A route path pattern (`/v1/blocks/:height`) as a regular expression over raw paths. */
function routePattern(url: string): RegExp {
  const parts = url.split('/').map((seg) => {
    if (seg.startsWith(':')) return '[^/]+';
    if (seg === '*') return '.*';
    return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('/')}$`);
}

/**
 * A fastify instance whose every error answer, from the framework and Node's HTTP parser
 * too, is `{"error": {code, message}}` with the code's status:
 * - Node's parser (`clientErrorHandler`): malformed requests HTTP_MALFORMED, an over-long
 *   request line URL_TOO_LONG, too many header bytes HEADERS_TOO_LARGE, slow headers
 *   REQUEST_TIMEOUT; a CONNECT request HTTP_METHOD_NOT_ALLOWED; an `Expect` other than
 *   100-continue EXPECTATION_FAILED;
 * - routing (`frameworkErrors`): bad percent-encoding BAD_URL, an over-long path segment
 *   URL_TOO_LONG; no route NOT_FOUND, or HTTP_METHOD_NOT_ALLOWED (with `Allow`) when the path
 *   has routes under other methods;
 * - requests: a missing Host on HTTP/1.1 HTTP_MALFORMED, a charset other than utf-8
 *   UNSUPPORTED_CHARSET, a request arriving while the server closes NOT_READY;
 * - bodies (`setErrorHandler`): see `errorFor`. Only JSON and the parsers a server adds are
 *   accepted (fastify's text/plain parser is removed): anything else is UNSUPPORTED_MEDIA_TYPE.
 */
export function createApiServer(o: ApiServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: false,
    ...o.fastify,
    // Node would answer a missing Host itself with an empty 400; the onRequest hook below does.
    http: { ...o.http, requireHostHeader: false },
    return503OnClosing: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error, req, reply) => {
      sendError(reply, errorFor(error, req));
    },
    clientErrorHandler: (err, socket) => {
      // A reset connection has nobody left to answer.
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      writeRawError(socket, clientErrorFor(err));
    },
  });
  app.removeContentTypeParser('text/plain');

  app.server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    writeRawError(
      socket,
      new ArchiError('HTTP_METHOD_NOT_ALLOWED', 'CONNECT is not supported: this is no proxy'),
    );
  });
  app.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const err = new ArchiError(
      'EXPECTATION_FAILED',
      `unsupported Expect: ${JSON.stringify(String(req.headers.expect))} (only 100-continue)`,
    );
    const body = JSON.stringify({ error: err.toJSON() });
    res.writeHead(err.httpStatus, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body);
  });

  // Paths each method serves, for 405 answers.
  const routes: Array<{ re: RegExp; methods: string[] }> = [];
  app.addHook('onRoute', (r) => {
    const methods = (Array.isArray(r.method) ? r.method : [r.method]).filter(
      (m) => m !== 'OPTIONS',
    );
    if (methods.length === 0 || r.url === '*' || r.url === '/*') return;
    routes.push({ re: routePattern(r.url), methods });
  });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (req, reply) => {
    if (closing) {
      reply.header('connection', 'close');
      throw new ArchiError('NOT_READY', 'the server is shutting down');
    }
    if (req.raw.httpVersion === '1.1' && !req.headers.host) {
      throw new ArchiError('HTTP_MALFORMED', 'an HTTP/1.1 request needs a Host header');
    }
    const type = req.headers['content-type'];
    if (type !== undefined) {
      const charset = charsetOf(String(type));
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
        throw new ArchiError(
          'UNSUPPORTED_CHARSET',
          `unsupported charset ${JSON.stringify(charset)}: send utf-8`,
        );
      }
    }
  });

  app.setErrorHandler((error: FastifyError, req, reply) => sendError(reply, errorFor(error, req)));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    const allowed = new Set<string>();
    for (const r of routes) if (r.re.test(path)) for (const m of r.methods) allowed.add(m);
    if (allowed.size > 0) {
      const allow = [...allowed].sort().join(', ');
      reply.header('allow', allow);
      return sendError(
        reply,
        new ArchiError(
          'HTTP_METHOD_NOT_ALLOWED',
          `${req.method} ${path} is not served: use ${allow}`,
        ),
      );
    }
    if (o.notFound) return o.notFound(req, reply);
    return sendError(reply, new ArchiError('NOT_FOUND', `no route ${req.method} ${path}`));
  });
  return app;
}
