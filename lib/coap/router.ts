import type { IncomingRequest, Method } from './api-types.js';
import { formatLinks, filterLinks, parseDiscoveryQuery, type Link } from './link-format.js';
import { Code } from './message.js';
import { ContentFormat } from './content-format.js';

/** The subset of a server response a route handler needs. */
export interface RouteResponse {
  status(code: number): this;
  contentFormat(cf: number): this;
  observe(yes?: boolean): this;
  end(payload?: string | Uint8Array, code?: number): void;
}

export type RouteHandler<Res extends RouteResponse> = (req: IncomingRequest, res: Res) => void | Promise<void>;

export interface ResourceDescription {
  /** Link attributes for /.well-known/core (rt, if, ct, obs, title, ...). */
  attributes?: Array<[string, string | true]>;
  /** Registrations (GET with Observe=0) are accepted. */
  observable?: boolean;
  /** Leave out of /.well-known/core. */
  hidden?: boolean;
}

interface Route<Res extends RouteResponse> {
  path: string;
  methods: Map<Method, RouteHandler<Res>>;
  description: ResourceDescription;
}

/**
 * A small router: exact paths (or a trailing `/*` prefix), per-method handlers, 4.04 / 4.05
 * answers, and `/.well-known/core` (RFC 6690) generated from the routes, with query filtering.
 */
export class Router<Res extends RouteResponse> {
  private readonly routes: Array<Route<Res>> = [];

  resource(path: string, handlers: Partial<Record<Method, RouteHandler<Res>>>, description: ResourceDescription = {}): this {
    const methods = new Map<Method, RouteHandler<Res>>();
    for (const [m, h] of Object.entries(handlers)) if (h) methods.set(m as Method, h);
    this.routes.push({ path, methods, description });
    return this;
  }
  get(path: string, h: RouteHandler<Res>, d?: ResourceDescription): this {
    return this.resource(path, { GET: h }, d);
  }

  links(): Link[] {
    return this.routes
      .filter((r) => !r.description.hidden && !r.path.endsWith('/*'))
      .map((r) => ({ target: r.path, attributes: [...(r.description.attributes ?? []), ...(r.description.observable ? ([['obs', true]] as Array<[string, true]>) : [])] }));
  }

  /** The first route for a path: an exact path, or a `/*` prefix (in the order they were added). */
  private match(path: string): Route<Res> | undefined {
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (r.path === path || (r.path.endsWith('/*') && path.startsWith(r.path.slice(0, -1)))) return r;
    }
    return undefined;
  }

  /** The request handler. */
  handler(): (req: IncomingRequest, res: Res) => void | Promise<void> {
    return (req, res) => {
      if (req.path === '/.well-known/core') {
        if (req.method !== 'GET') return res.end(undefined, Code.MethodNotAllowed);
        const query = parseDiscoveryQuery(req.query);
        return res.contentFormat(ContentFormat.LinkFormat).end(formatLinks(filterLinks(this.links(), query)), Code.Content);
      }
      const route = this.match(req.path);
      if (!route) return res.end(undefined, Code.NotFound);
      const h = req.method ? route.methods.get(req.method) : undefined;
      if (!h) return res.end(undefined, Code.MethodNotAllowed);
      if (route.description.observable && req.observe === 0) res.observe(true);
      return h(req, res);
    };
  }
}
