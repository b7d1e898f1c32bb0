/**
 * DOM versions of the SDK components the views use, for the console's host page: enough to look
 * like a plausible Dashboard drawer, honouring the props that carry behaviour (onPress, href,
 * target, disabled) and the `css` props that change layout. Unknown components render a visible
 * placeholder naming them, never a blank.
 */
import { type CSSProperties, type ReactNode, useEffect, useState } from 'react';

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
  if (css.fontWeight) style.fontWeight = css.fontWeight === 'semibold' ? 600 : css.fontWeight === 'bold' ? 700 : 400;
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

/**
 * A labelled input. The text is kept here and the view told of each change (as a plain event:
 * a DOM event does not cross to the worker), so typing never waits for the worker's round trip;
 * a new `value` from the view (e.g. cleared after a save) replaces it.
 */
function TextField({ label, description, error, type, value, defaultValue, placeholder, disabled, name, onChange }: Props) {
  const [text, setText] = useState(String(value ?? defaultValue ?? ''));
  useEffect(() => void (typeof value === 'string' && setText(value)), [value]);
  const change = (next: string) => {
    setText(next);
    const target = { value: next, name };
    if (typeof onChange === 'function') onChange({ type: 'change', target, currentTarget: target });
  };
  return (
    <label className="field">
      <span className="field-label">{label as ReactNode}</span>
      {description ? <small className="muted">{description as ReactNode}</small> : null}
      <input className="input" type={typeof type === 'string' ? type : 'text'} value={text} placeholder={typeof placeholder === 'string' ? placeholder : undefined}
        name={typeof name === 'string' ? name : undefined} disabled={Boolean(disabled)} autoComplete="off" onChange={(e) => change(e.target.value)} />
      {error ? <small className="field-error" role="alert">{error as ReactNode}</small> : null}
    </label>
  );
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
  TextField,
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
  Divider: () => <hr className="divider" />,
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
