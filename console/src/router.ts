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

/**
 * The chosen chain lives in the page's query (`/?chain=beta#/blocks`), outside the hash, so
 * every `#/...` link and `go()` keeps it and a copied link opens the same chain.
 */
export function chainInUrl(): string | undefined {
  return new URLSearchParams(location.search).get('chain') || undefined;
}

/** Put `chain` in the URL: a new history entry (`push`, the user switched) or in place. */
export function setChainInUrl(chain: string, push: boolean): void {
  const url = new URL(location.href);
  if (url.searchParams.get('chain') === chain) return;
  url.searchParams.set('chain', chain);
  if (push) history.pushState(null, '', url);
  else history.replaceState(history.state, '', url);
}
