/**
 * DOM versions of the SDK components the views use, for the console's host page: enough to look
 * like a plausible Dashboard drawer, honouring the props that carry behaviour (onPress, href,
 * target, disabled) and the `css` props that change layout. Unknown components render a visible
 * placeholder naming them, never a blank.
 */
import type { CSSProperties, ReactNode } from 'react';

type Props = { children?: ReactNode; css?: Record<string, string> } & Record<string, unknown>;

const GAP: Record<string, string> = { xxsmall: '2px', xsmall: '4px', small: '8px', medium: '16px', large: '24px', xlarge: '32px' };
const ALIGN: Record<string, string> = { top: 'flex-start', center: 'center', bottom: 'flex-end', left: 'flex-start', right: 'flex-end', baseline: 'baseline' };

/** The SDK's layout props (`stack`, `gap`, `alignX`, `alignY`, `padding`…) as flexbox. */
function layout(css: Record<string, string> = {}): CSSProperties {
  const style: CSSProperties = {};
  if (css.stack === 'x' || css.stack === 'y') {
    style.display = 'flex';
    style.flexDirection = css.stack === 'x' ? 'row' : 'column';
    if (css.stack === 'x') style.flexWrap = 'wrap';
  }
  if (css.gap) style.gap = GAP[css.gap] ?? css.gap;
  if (css.alignY) style[css.stack === 'x' ? 'alignItems' : 'justifyContent'] = ALIGN[css.alignY];
  if (css.alignX) style[css.stack === 'x' ? 'justifyContent' : 'alignItems'] = ALIGN[css.alignX];
  if (css.padding) style.padding = GAP[css.padding] ?? css.padding;
  if (css.margin) style.margin = GAP[css.margin] ?? css.margin;
  return style;
}

const press = (onPress: unknown) => () => void (typeof onPress === 'function' ? onPress() : undefined);

function Button({ children, onPress, href, target, disabled, type }: Props) {
  const className = `button button-${String(type ?? 'secondary')}`;
  if (typeof href === 'string') {
    return <a className={className} href={href} target={typeof target === 'string' ? target : undefined} rel="noreferrer">{children}</a>;
  }
  return <button type="button" className={className} disabled={Boolean(disabled)} onClick={press(onPress)}>{children}</button>;
}

function Action({ action }: { action: Record<string, unknown> }) {
  return <Button type="primary" href={action.href} target={action.target} onPress={action.onPress}>{String(action.label ?? '')}</Button>;
}

/** A decorative chain link, drawn inline (nothing loads from the network). */
const LINK_ICON = (
  <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
    <path d="M10 13a5 5 0 0 0 7.07 0l3-3a5 5 0 0 0-7.07-7.07l-1.5 1.5" />
    <path d="M14 11a5 5 0 0 0-7.07 0l-3 3a5 5 0 0 0 7.07 7.07l1.5-1.5" />
  </svg>
);

export const HOST_COMPONENTS = {
  Box: ({ children, css }: Props) => <div className="box" style={layout(css)}>{children}</div>,
  Inline: ({ children, css }: Props) => <span className="inline" style={layout(css)}>{children}</span>,
  Button,
  Link: ({ children, href, target, onPress }: Props) =>
    typeof href === 'string'
      ? <a className="link" href={href} target={typeof target === 'string' ? target : undefined}>{children}</a>
      : <a className="link" href="#" onClick={press(onPress)}>{children}</a>,
  Banner: ({ type, title, description, actions }: Props) => (
    <div className={`banner banner-${String(type ?? 'default')}`} role="status">
      {title ? <strong>{title as ReactNode}</strong> : null}
      {description ? <div>{description as ReactNode}</div> : null}
      {actions as ReactNode}
    </div>
  ),
  Badge: ({ children, type }: Props) => <span className={`badge badge-${String(type ?? 'neutral')}`}>{children}</span>,
  Spinner: () => <span className="spinner" aria-label="Loading" />,
  ContextView: ({ title, children, actions, footerContent }: Props) => (
    <section className="view">
      <header className="view-title">{title as ReactNode}</header>
      <div className="view-body">{children}</div>
      {actions || footerContent ? (
        <footer className="view-footer">
          {actions as ReactNode}
          {footerContent as ReactNode}
        </footer>
      ) : null}
    </section>
  ),
  SettingsView: ({ children }: Props) => (
    <section className="view">
      <header className="view-title">Settings</header>
      <div className="view-body">{children}</div>
    </section>
  ),
  SignInView: ({ description, primaryAction, footerContent }: Props) => (
    <section className="view sign-in">
      <div className="view-body">
        <span className="sign-in-mark" aria-hidden="true">{LINK_ICON}</span>
        <p>{description as ReactNode}</p>
        {primaryAction ? <Action action={primaryAction as Record<string, unknown>} /> : null}
        {footerContent as ReactNode}
      </div>
    </section>
  ),
  PropertyList: ({ children }: Props) => <dl className="property-list">{children}</dl>,
  PropertyListItem: ({ label, value }: Props) => (
    <div className="property">
      <dt>{label as ReactNode}</dt>
      <dd>{value as ReactNode}</dd>
    </div>
  ),
};

export function UnknownComponent({ name }: { name: string }) {
  return <div className="unknown">[{name}: not rendered by the offline console]</div>;
}
