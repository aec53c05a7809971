/**
 * The gateway's HTTP server (fastify, built on the node RPC's error handling): the app
 * endpoints (signed envelopes in and out, routes-app.ts), the event WebSocket (events.ts), the
 * operator's endpoints (routes-admin.ts) and GET /gw/v1/health. An app endpoint reads its
 * body as bytes of any content type, up to the envelope's 1 MiB; a larger one, and every
 * other failure of such a request, is still a signed answer (BODY_TOO_LARGE...), so nothing an
 * app sends is answered unsigned. Bad input never ends the process.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ArchiError } from '../errors/index.ts';
import { createApiServer, errorFor } from '../rpc/http-errors.ts';
import { GW_LIMITS } from '../types/gateway-envelope.ts';
import type { GatewayContext } from './context.ts';
import { type Answer, errorAnswer } from './envelope-auth.ts';
import { attachEvents, EVENTS_PATH, EventHub } from './events.ts';
import { adminRoutes } from './routes-admin.ts';
import { APP_ENDPOINTS, serveApp } from './routes-app.ts';

/** Largest admin request body (an app with many CSRs). */
const ADMIN_BODY_LIMIT = 4 * 1024 * 1024;

function send(reply: FastifyReply, a: Answer): FastifyReply {
  return reply
    .code(a.status)
    .headers(a.headers)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify(a.envelope));
}

/** Builds (not starts) the gateway's server; `close()` on it also closes the event sockets. */
export function createGatewayServer(ctx: GatewayContext): FastifyInstance {
  const app = createApiServer({
    fastify: { bodyLimit: ADMIN_BODY_LIMIT, keepAliveTimeout: 60_000 },
  });

  app.get('/gw/v1/health', async () => ({ id: ctx.id, org: ctx.org, ok: true }));

  // App endpoints: the body is the envelope's bytes, whatever the content type says.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: GW_LIMITS.bytes },
      (_req, body, done) => done(null, body),
    );
    // Errors before a handler runs (body too large, framing) are signed answers too.
    scope.setErrorHandler((error: FastifyError, req, reply) => {
      const err = errorFor(error, req);
      const e =
        err.code === 'INVALID_JSON' ? new ArchiError('GW_MALFORMED', 'the envelope is empty') : err;
      return send(reply, errorAnswer(ctx, { reqId: '' }, e));
    });
    for (const [path, endpoint] of Object.entries(APP_ENDPOINTS)) {
      scope.post(path, async (req, reply) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        return send(reply, await serveApp(ctx, endpoint, body));
      });
    }
    scope.get(EVENTS_PATH, async () => {
      throw new ArchiError(
        'UPGRADE_REQUIRED',
        `${EVENTS_PATH} is a WebSocket: send Upgrade: websocket`,
      );
    });
  });

  app.register(adminRoutes(ctx), { prefix: '/gw/v1/admin' });

  const events = attachEvents(ctx, new EventHub(ctx));
  app.server.on('upgrade', events.onUpgrade);
  app.addHook('preClose', async () => {
    app.server.off('upgrade', events.onUpgrade);
    events.close();
  });
  return app;
}
