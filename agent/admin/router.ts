// A small method + path-template router (/v1/resources/:kind/:id). Templates double as the
// low-cardinality `route` label of the admin metrics.
export interface RouteMatch<H> {
  handler: H;
  template: string;
  params: Record<string, string>;
}

export type MatchResult<H> = { found: RouteMatch<H> } | { methodNotAllowed: string[] } | { notFound: true };

interface Route<H> {
  method: string;
  template: string;
  segments: string[];
  handler: H;
}

export class Router<H> {
  private readonly routes: Route<H>[] = [];

  add(method: string, template: string, handler: H): this {
    this.routes.push({ method, template, segments: template.split('/').slice(1), handler });
    return this;
  }

  /** `pathname` must be the raw (still percent-encoded) path; params come back decoded. Throws URIError on bad encoding. */
  match(method: string, pathname: string): MatchResult<H> {
    const segments = pathname.split('/').slice(1);
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method === method) return { found: { handler: route.handler, template: route.template, params } };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { methodNotAllowed: allowed } : { notFound: true };
  }
}

function matchSegments(template: string[], actual: string[]): Record<string, string> | undefined {
  if (template.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const part = template[i];
    if (part.startsWith(':')) {
      if (actual[i] === '') return undefined;
      params[part.slice(1)] = decodeURIComponent(actual[i]);
    } else if (part !== actual[i]) {
      return undefined;
    }
  }
  return params;
}
