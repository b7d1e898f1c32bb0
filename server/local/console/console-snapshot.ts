/** What the console page polls from its server (`GET /console/state`): shared by both sides. */
export interface ConsoleIdentity {
  user: { id: string; name: string };
  account: { id: string; name: string };
  mode: 'test' | 'live';
}

export interface ConsoleSnapshot {
  identity: ConsoleIdentity;
  users: Array<{ id: string; name: string }>;
  accounts: Array<{ id: string; name: string }>;
  /** The manifest constants the views receive. */
  constants: Record<string, string>;
  /** The current user's secrets, tokens masked. */
  secrets: Array<{ name: string; expires_at: number | null; generation: number | null; masked: string }>;
  /** The backend's refresh and exchange log lines for the current connection, newest first. */
  history: Array<{ time: number; event: string; outcome: string; latencyMs?: number }>;
}
