// Svelte compiler options (read by vite-plugin-svelte and svelte-check).
export default {
  compilerOptions: { runes: true },
};
