import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `npm run dev` proxies the API to a running `cafleet server` (default port 8000;
// override with CAFLEET_DEV_API=http://127.0.0.1:18999).
const api = process.env.CAFLEET_DEV_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [svelte()],
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    proxy: {
      // changeOrigin so the server's Host check sees its own address.
      '/api': { target: api, changeOrigin: true, headers: { origin: api } },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
