/** Loopback hosts: where http is acceptable (the local stack) and https is not required. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export const isLoopbackUrl = (url: URL) => LOOPBACK_HOSTS.has(url.hostname);
