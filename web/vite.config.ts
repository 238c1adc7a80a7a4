import { defineConfig } from 'vite';

// The dashboard is served by the tagstream binary from web/dist: every asset
// is local (no CDN, no web fonts), hashed names under assets/ are cached
// for a year by the server.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  server: {
    // `npm run dev`: the API is proxied to a local tagstream (loopback only).
    proxy: { '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
