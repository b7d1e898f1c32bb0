/** The dev provider's test users (documented in the README). One password for all: it is a local stand-in. */
export const DEV_PASSWORD = 'dev-password';

export const DEV_USERS: Record<string, { name: string; email: string }> = {
  alice: { name: 'Alice Example', email: 'alice@example.test' },
  bob: { name: 'Bob Example', email: 'bob@example.test' },
};
