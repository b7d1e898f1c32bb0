/** Rendering a view with the SDK's test renderer and waiting for its async effects to settle. */
import { getMockContextProps, render } from '@stripe/ui-extension-sdk/testing';
import type { ExtensionContextValue } from '@stripe/ui-extension-sdk/context';
import type { ComponentType, ReactElement } from 'react';
import { createElement, useEffect, useState } from 'react';
import type { DashboardUserId } from '../../src/common/connection-id';

/** The Dashboard user a view runs as; without `userId` for the "no user" state. */
export type ViewUser = Omit<DashboardUserId, 'userId'> & { userId?: string };

export function contextFor(user: ViewUser, constants: Record<string, string>, oauthContext?: ExtensionContextValue['oauthContext']): ExtensionContextValue {
  const props = getMockContextProps({
    userContext: { id: user.userId, account: { id: user.accountId } },
    environment: { mode: user.mode, constants },
  });
  // getMockContextProps fills a default user id; a test of the "no user" state removes it again.
  if (user.userId === undefined) delete props.userContext.id;
  return { ...props, oauthContext };
}

/** Views still rendered: each test's are taken down after it, ending their effects (a pending timer would keep jest running). */
const closers = new Set<() => void>();
afterEach(() => {
  for (const close of closers) close();
  closers.clear();
});

/** Renders `view` until `onMounted`'s closer is called, then nothing. */
function Closable({ view, onMounted }: { view: ReactElement; onMounted: (close: () => void) => void }) {
  const [open, setOpen] = useState(true);
  useEffect(() => onMounted(() => setOpen(false)), [onMounted]);
  return open ? view : null;
}

export async function renderView(View: ComponentType<ExtensionContextValue>, context: ExtensionContextValue) {
  const rendered = render(createElement(Closable, {
    view: createElement(View, context),
    onMounted: (close: () => void) => void closers.add(() => rendered.wrapper.act(close)),
  }));
  /** Flushes effects until `done()` holds: the views wait on real HTTP calls. */
  const until = async (done: () => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await rendered.update();
      if (done()) return;
      if (Date.now() > deadline) throw new Error(`view did not settle:\n${rendered.wrapper.debug()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { ...rendered, until };
}
