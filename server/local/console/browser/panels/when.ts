/** A unix time as the panels show it. */
export const when = (unix: number | null) => (unix === null ? 'never' : new Date(unix * 1000).toLocaleTimeString());
