/** Unix seconds now: the one clock helper of the extension and the backend. */
export const unixNow = () => Math.floor(Date.now() / 1000);
