/**
 * `archi tenant create|list|bill`: the gateway's tenants (an organization or a developer who
 * owns apps), through the operator's endpoints with DIR/gateway/admin.token.
 */
import type { Command } from 'commander';
import { ArchiError } from '../../types/errors.ts';
import { formatTable } from './client.ts';
import { addGatewayOptions, adminClient, print, printJson } from './gateway.ts';

interface Flags {
  dir: string;
  gateway?: string;
  json?: boolean;
}

/** Minor units as a decimal amount (cents with 2 digits). */
function amount(minor: number, digits: number): string {
  const neg = minor < 0;
  const s = String(Math.abs(minor)).padStart(digits + 1, '0');
  const text = digits ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
  return neg ? `-${text}` : text;
}

interface Bill {
  month: string;
  currency: string;
  minorDigits: number;
  total: number;
  tenants: Array<{
    tenantId: string;
    txs: number;
    queries: number;
    gbMonths: number;
    total: number;
    apps: Array<{ appId: string; txs: number; queries: number; gbMonths: number; total: number }>;
  }>;
}

/** Register `archi tenant ...`. */
export function register(program: Command): void {
  const tenant = program.command('tenant').description("the gateway's tenants (owners of apps)");

  addGatewayOptions(
    tenant.command('create').description('create a tenant').argument('<name>', 'tenant name'),
  ).action(async (name: string, flags: Flags) => {
    const t = await adminClient(flags.dir, flags.gateway).createTenant(name);
    if (flags.json) printJson(t);
    else print(`created tenant ${t.name} (${t.id})`);
  });

  addGatewayOptions(
    tenant.command('list').description('every tenant with its apps and usage totals'),
  ).action(async (flags: Flags) => {
    const list = await adminClient(flags.dir, flags.gateway).tenants();
    if (flags.json) {
      printJson(list);
      return;
    }
    if (list.length === 0) {
      print('no tenants yet (archi tenant create NAME)');
      return;
    }
    print(
      formatTable(
        ['NAME', 'ID', 'APPS', 'TXS', 'QUERIES', 'GAS', 'BYTES', 'REJECTED'],
        list.map((t) => [
          t.name,
          t.id,
          String(t.apps),
          String(t.total.txs),
          String(t.total.queries),
          String(t.total.gas),
          String(t.total.bytesWritten),
          String(t.total.rejected),
        ]),
      ),
    );
  });

  addGatewayOptions(
    tenant
      .command('bill')
      .description("a month's bill from usage and the gateway's price table")
      .option('--tenant <tenant>', 'one tenant (id or name; default: every tenant)')
      .option('--month <YYYY-MM>', 'the month (default: this one, UTC)'),
  ).action(async (flags: Flags & { tenant?: string; month?: string }) => {
    if (flags.month !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(flags.month)) {
      throw new ArchiError('INVALID_ARGS', `--month must be YYYY-MM, got "${flags.month}"`);
    }
    const bill = (await adminClient(flags.dir, flags.gateway).bill({
      tenant: flags.tenant,
      month: flags.month,
    })) as Bill;
    if (flags.json) {
      printJson(bill);
      return;
    }
    const money = (m: number) => `${amount(m, bill.minorDigits)} ${bill.currency}`;
    const rows: string[][] = [];
    for (const t of bill.tenants) {
      for (const a of t.apps) {
        rows.push([
          t.tenantId,
          a.appId,
          String(a.txs),
          String(a.queries),
          a.gbMonths.toFixed(6),
          money(a.total),
        ]);
      }
      rows.push([
        t.tenantId,
        '(total)',
        String(t.txs),
        String(t.queries),
        t.gbMonths.toFixed(6),
        money(t.total),
      ]);
    }
    print(`bill for ${bill.month}`);
    if (rows.length) {
      print(formatTable(['TENANT', 'APP', 'TXS', 'QUERIES', 'GB-MONTHS', 'AMOUNT'], rows));
    }
    print(`total ${money(bill.total)}`);
  });
}
