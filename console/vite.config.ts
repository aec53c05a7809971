import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console imports src/state/proof.ts from the package root so the browser checks proofs
// with exactly the node's own rules; the dev server must be allowed to read it.
const packageRoot = fileURLToPath(new URL('..', import.meta.url));

// `ARCHI_CONSOLE=http://127.0.0.1:PORT npx vite console` develops against the console server
// of a running `archi up`. Its operator API answers only same-origin pages, so the proxy
// drops the dev server's Origin (the browser still cannot reach it from any other site).
const operator = process.env.ARCHI_CONSOLE;

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  server: {
    fs: { allow: [packageRoot] },
    proxy: operator
      ? {
          '/console-api': {
            target: operator,
            changeOrigin: true,
            configure: (proxy) => proxy.on('proxyReq', (req) => req.removeHeader('origin')),
          },
        }
      : undefined,
  },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1000 },
});
