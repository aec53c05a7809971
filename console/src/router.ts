/** Hash routes (#/blocks/12): the console is static files, so no server-side routing. */
import { useEffect, useState } from 'react';

export interface Route {
  page: string;
  parts: string[];
  query: URLSearchParams;
}

function parse(hash: string): Route {
  const [path, q] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] ?? 'network', parts: parts.slice(1), query: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const on = () => {
      setRoute(parse(location.hash));
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function go(path: string): void {
  location.hash = path.startsWith('#') ? path : `#${path}`;
}
