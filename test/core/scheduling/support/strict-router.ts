import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A strict fake Epic for tests: an HTTP server on 127.0.0.1 (ephemeral port) that answers only the
 * routes a test declares, in order, and records everything. Any request no route expects is
 * answered 599 and listed in `unexpected`, so a test that asserts `unexpected` is empty fails loudly.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: string;
  json: unknown;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON (application/fhir+json unless headers say otherwise). */
  body?: unknown;
}

/** `hang` never answers (for client timeouts); `drop` destroys the socket. */
export type Responder = Reply | 'hang' | 'drop' | ((req: RecordedRequest) => Reply | 'hang' | 'drop');

interface Route {
  method: string;
  path: string | RegExp;
  responder: Responder;
  /** How many requests this route answers; undefined = any number. */
  times: number | undefined;
}

export interface StrictRouter {
  url: string;
  requests: RecordedRequest[];
  unexpected: string[];
  /** Declares a route; `times` limits how many requests it answers (default: unlimited). */
  on(method: string, path: string | RegExp, responder: Responder, times?: number): StrictRouter;
  close(): Promise<void>;
}

function matches(route: Route, method: string, path: string): boolean {
  if (route.method !== method) return false;
  return typeof route.path === 'string' ? route.path === path : route.path.test(path);
}

export async function startStrictRouter(): Promise<StrictRouter> {
  const routes: Route[] = [];
  const requests: RecordedRequest[] = [];
  const unexpected: string[] = [];
  const hanging = new Set<IncomingMessage>();

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      headers,
      body,
      json,
    };
    requests.push(recorded);
    const route = routes.find((r) => matches(r, recorded.method, recorded.path) && (r.times ?? 1) > 0);
    if (!route) {
      unexpected.push(`${recorded.method} ${recorded.path}${url.search}`);
      res.writeHead(599, { 'content-type': 'text/plain' });
      res.end('unexpected request');
      return;
    }
    if (route.times !== undefined) route.times -= 1;
    const reply = typeof route.responder === 'function' ? route.responder(recorded) : route.responder;
    if (reply === 'hang') {
      hanging.add(req);
      return;
    }
    if (reply === 'drop') {
      req.socket.destroy();
      return;
    }
    const isText = typeof reply.body === 'string';
    const payload =
      reply.body === undefined ? '' : isText ? (reply.body as string) : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'content-type': isText ? 'text/plain' : 'application/fhir+json; charset=utf-8',
      ...reply.headers,
    });
    res.end(payload);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const router: StrictRouter = {
    url: `http://127.0.0.1:${port}`,
    requests,
    unexpected,
    on(method, path, responder, times) {
      routes.push({ method, path, responder, times });
      return router;
    },
    async close() {
      for (const req of hanging) req.socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return router;
}
