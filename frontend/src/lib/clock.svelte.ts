// A reactive clock for relative times ("seen 12 s ago") and badge ages.

/**
 * `now` (ms since the epoch) that advances every `periodMs` while the calling component is
 * mounted. Call during component initialisation.
 */
export function useNow(periodMs = 10_000): { readonly now: number } {
  let now = $state(Date.now());
  $effect(() => {
    const t = setInterval(() => (now = Date.now()), periodMs);
    return () => clearInterval(t);
  });
  return {
    get now() {
      return now;
    },
  };
}
