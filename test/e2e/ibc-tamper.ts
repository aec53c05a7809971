/**
 * A node that lies, for interchain tests: an HTTP proxy in front of a real node that passes
 * requests through and may rewrite the JSON of chosen answers (or answer something that is
 * not JSON at all), so a test sees what the SDK and the relayer make of a dishonest node.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a rewrite returns: undefined (answer as the node did), a new JSON body, or raw text. */
export type Rewrite = (
  path: string,
  body: any,
  request: any,
) => unknown | { raw: string } | undefined;

export class TamperProxy {
  readonly server: http.Server;
  url = '';
  rewrite: Rewrite | undefined;
  /** Answers rewritten so far. */
  rewritten = 0;

  constructor(private readonly target: string) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        res.writeHead(502, { 'content-type': 'text/plain' }).end(String(e));
      });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const r = await fetch(`${this.target}${req.url}`, {
      method: req.method,
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
    let text = await r.text();
    if (this.rewrite && r.ok) {
      let request: unknown;
      try {
        request = body.length ? JSON.parse(body.toString()) : undefined;
      } catch {
        request = undefined; // a tx's bytes
      }
      const changed = this.rewrite(req.url ?? '', JSON.parse(text), request);
      if (changed !== undefined) {
        this.rewritten++;
        const raw = (changed as { raw?: unknown })?.raw;
        text = typeof raw === 'string' ? raw : JSON.stringify(changed);
      }
    }
    res.writeHead(r.status, { 'content-type': 'application/json' }).end(text);
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
