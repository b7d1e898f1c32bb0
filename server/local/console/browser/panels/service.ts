/** How the panels name a service: its provider name, or "the provider" for the one unnamed. */
import type { ConsoleSnapshot } from '../../api';

export const serviceName = (service: string | null) => (service === null ? 'shared' : service || 'the provider');

/** Whether the rows need a service column: only when the backend has several. */
export const several = (snapshot: Pick<ConsoleSnapshot, 'services'>) => snapshot.services.length > 1;
