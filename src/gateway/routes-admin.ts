/**
 * The operator's endpoints under /gw/v1/admin (docs/GATEWAY.md "Admin endpoints"): plain
 * JSON, `Authorization: Bearer <D/gateway/admin.token>` (GW_UNAUTHORIZED otherwise), errors as
 * `{"error": {code, message}}` with the code's HTTP status. Tenants, apps (made by
 * identities.ts), quotas, usage (JSON or CSV), the monthly bill and the load per chain.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ArchiError } from '../errors/index.ts';
import { monthlyBill } from './billing.ts';
import type { GatewayContext } from './context.ts';
import { createAppWithIdentities, identityView } from './identities.ts';
import { utcDay } from './quota.ts';
import {
  chainLoad,
  createTenant,
  getApp,
  getTenant,
  listApps,
  listIdentities,
  listTenants,
  setQuota,
  type Tenant,
} from './store.ts';
import { listUsage, sumUsage, tenantTotals, type UsageFilter, usageCsv } from './usage.ts';

const bad = (message: string) => new ArchiError('BAD_REQUEST', message);
const DAY_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const MONTH_RE = /^\d{4}-(0[1-9]|1[0-2])$/;

function bodyOf(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b))
    throw bad('the body must be a JSON object');
  return b as Record<string, unknown>;
}

function queryOf(req: FastifyRequest): Record<string, string | undefined> {
  const q = req.query as Record<string, unknown>;
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(q ?? {})) {
    if (typeof v !== 'string') throw bad(`query parameter ${k} is given more than once`);
    out[k] = v === '' ? undefined : v;
  }
  return out;
}

function day(v: string | undefined, what: string): string | undefined {
  if (v !== undefined && !DAY_RE.test(v)) throw bad(`${what} must be a day YYYY-MM-DD`);
  return v;
}

/** True when the request carries the admin token (compared in constant time). */
function authorized(ctx: GatewayContext, req: FastifyRequest): boolean {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  if (!m) return false;
  const given = Buffer.from(m[1]);
  const want = Buffer.from(ctx.adminToken);
  return given.length === want.length && timingSafeEqual(given, want);
}

async function tenantOf(ctx: GatewayContext, idOrName: string): Promise<Tenant> {
  const t = await getTenant(ctx.db, idOrName);
  if (!t) throw new ArchiError('GW_NOT_FOUND', `no tenant ${idOrName}`);
  return t;
}

/** The admin routes, registered on `scope` (under /gw/v1/admin). */
export function adminRoutes(ctx: GatewayContext) {
  return async (scope: FastifyInstance): Promise<void> => {
    scope.addHook('onRequest', async (req) => {
      if (!authorized(ctx, req)) {
        throw new ArchiError(
          'GW_UNAUTHORIZED',
          'admin requests need the header Authorization: Bearer <the token in D/gateway/admin.token>',
        );
      }
    });

    scope.post('/tenants', async (req, reply) => {
      const b = bodyOf(req);
      for (const k of Object.keys(b)) if (k !== 'name') throw bad(`unknown field ${k}`);
      if (typeof b.name !== 'string') throw bad('name is required');
      const t = await createTenant(ctx.db, { name: b.name, nowMs: ctx.now() });
      ctx.log.info({ tenant: t.id, name: t.name }, 'gateway: tenant created');
      return reply.code(201).send(t);
    });

    scope.get('/tenants', async () => {
      const [tenants, apps, totals] = await Promise.all([
        listTenants(ctx.db),
        listApps(ctx.db),
        tenantTotals(ctx.db),
      ]);
      const zero = sumUsage([]);
      return tenants.map((t) => {
        const { tenantId: _, ...total } = totals.find((x) => x.tenantId === t.id) ?? {
          tenantId: t.id,
          ...zero,
        };
        return { ...t, apps: apps.filter((a) => a.tenantId === t.id).length, total };
      });
    });

    scope.post('/apps', async (req, reply) => {
      const created = await createAppWithIdentities(ctx, bodyOf(req));
      return reply.code(201).send(created);
    });

    scope.get('/apps', async (req) => {
      const q = queryOf(req);
      if (q.tenant === undefined) return listApps(ctx.db);
      return listApps(ctx.db, { tenantId: (await tenantOf(ctx, q.tenant)).id });
    });

    scope.get('/apps/:id', async (req) => {
      const id = (req.params as { id: string }).id;
      const app = await getApp(ctx.db, id);
      if (!app) throw new ArchiError('GW_NOT_FOUND', `no app ${id}`);
      const today = utcDay(ctx.now());
      const [ids, rows] = await Promise.all([
        listIdentities(ctx.db, id),
        listUsage(ctx.db, { appId: id, from: today, to: today }),
      ]);
      return {
        app,
        identities: ids.map((i) => identityView(ctx, i)),
        usageToday: sumUsage(rows),
      };
    });

    scope.post('/apps/:id/quota', async (req) => {
      const id = (req.params as { id: string }).id;
      const b = bodyOf(req);
      for (const k of Object.keys(b))
        if (k !== 'tps' && k !== 'tpd') throw bad(`unknown field ${k}`);
      const app = await setQuota(ctx.db, id, {
        tps: b.tps as number | null | undefined,
        tpd: b.tpd as number | null | undefined,
      });
      ctx.log.info({ app: id, tps: app.tps, tpd: app.tpd }, 'gateway: quota changed');
      return app;
    });

    scope.get('/usage', async (req, reply) => {
      const q = queryOf(req);
      const filter: UsageFilter = { from: day(q.from, 'from'), to: day(q.to, 'to') };
      if (q.app !== undefined) filter.appId = q.app;
      if (q.tenant !== undefined) filter.tenantId = (await tenantOf(ctx, q.tenant)).id;
      const format = q.format ?? 'json';
      if (format !== 'json' && format !== 'csv') throw bad('format must be json or csv');
      const rows = await listUsage(ctx.db, filter);
      if (format === 'csv') {
        return reply.header('content-type', 'text/csv; charset=utf-8').send(usageCsv(rows));
      }
      return { rows, total: sumUsage(rows) };
    });

    scope.get('/bill', async (req) => {
      const q = queryOf(req);
      const month = q.month ?? utcDay(ctx.now()).slice(0, 7);
      if (!MONTH_RE.test(month)) throw bad('month must be YYYY-MM');
      const filter: UsageFilter = {};
      if (q.tenant !== undefined) filter.tenantId = (await tenantOf(ctx, q.tenant)).id;
      // Storage is cumulative: every earlier day's bytes count (later days are left out by the bill).
      const rows = await listUsage(ctx.db, filter);
      return monthlyBill(rows, ctx.prices(), month);
    });

    scope.get('/load', async () => chainLoad(ctx.db, utcDay(ctx.now())));
  };
}
