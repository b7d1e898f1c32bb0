/**
 * The console page's HTML and its one stylesheet: a drawer-like frame per view, panels beside
 * them (stacked below 1000 px). Hand-written, close to the Dashboard's look: system fonts, the
 * #635bff accent, subtle borders and 8 px radii; nothing loads from the network.
 */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Offline Dashboard — OAuth broker</title>
<style>
  :root {
    color-scheme: light;
    --text: #1a1f36; --text-secondary: #545969; --text-muted: #687385;
    --bg: #f6f8fa; --surface: #fff; --surface-subtle: #f6f8fa;
    --border: #e3e8ee; --border-strong: #c0c8d2; --control-border: #8792a2;
    --accent: #635bff; --accent-hover: #5146e0; --accent-active: #4338c9; --accent-soft: #f2f1ff;
    --danger: #c0123c; --danger-border: #f5a3b5; --danger-soft: #fff5f7;
    --radius: 8px; --radius-control: 6px;
    --shadow: 0 1px 1px rgba(0, 0, 0, .03), 0 2px 5px rgba(60, 66, 87, .08);
    --focus: 0 0 0 2px #fff, 0 0 0 4px #635bff;
    --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  }
  *, *::before, *::after { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Ubuntu, "Liberation Sans", Arial, sans-serif;
    color: var(--text); background: var(--bg); -webkit-font-smoothing: antialiased; }
  code { font-family: var(--mono); font-size: 12px; }
  a { color: var(--accent); text-underline-offset: 2px; }
  a:hover { color: var(--accent-hover); }
  :focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }

  /* Top bar */
  header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 12px; padding: 12px max(24px, calc((100% - 1560px) / 2 + 24px)); background: var(--surface); border-bottom: 1px solid var(--border); }
  header.top strong { display: inline-flex; align-items: center; gap: 10px; font-size: 15px; }
  header.top strong::before { content: ""; width: 22px; height: 22px; border-radius: 6px; background: linear-gradient(135deg, #7a73ff, #635bff 55%, #4b44d6); }
  header.top small { color: var(--text-muted); font-size: 13px; }
  #console > p { margin: 48px auto; text-align: center; color: var(--text-muted); }

  /* Layout: the views column and the panels side by side when there is room, stacked below ~1000 px */
  main { display: grid; grid-template-columns: minmax(0, 1fr); gap: 24px; padding: 24px; max-width: 1560px; margin: 0 auto; align-items: start; }
  .column { display: flex; flex-direction: column; gap: 8px; min-width: 0; }
  .column.panels { gap: 16px; }
  .drawer + h2 { margin-top: 16px; }
  @media (min-width: 1000px) { main { grid-template-columns: 420px minmax(0, 1fr); } }
  @media (min-width: 720px) and (max-width: 999.98px) {
    /* Drawer and settings next to each other above the panels */
    .column:not(.panels) { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); grid-template-rows: auto auto; grid-auto-flow: column; gap: 8px 16px; align-items: start; }
    .drawer + h2 { margin-top: 0; }
  }
  @media (max-width: 599.98px) { main { padding: 16px; } header.top { padding: 12px 16px; } }

  h2 { display: flex; flex-wrap: wrap; align-items: baseline; gap: 2px 8px; margin: 0; font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .06em; color: var(--text-secondary); }
  h2 small { font: 12px var(--mono); text-transform: none; letter-spacing: 0; color: var(--text-muted); }

  /* The SDK components (components.tsx) */
  .drawer { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); box-shadow: var(--shadow); min-height: 120px; overflow: hidden; }
  .view-title { font-size: 16px; font-weight: 600; padding: 14px 20px; border-bottom: 1px solid var(--border); }
  .view-body { padding: 20px; display: flex; flex-direction: column; gap: 16px; }
  .view-body > .button { align-self: flex-start; }
  .view-footer { padding: 12px 20px; border-top: 1px solid var(--border); background: var(--surface-subtle); }
  .view-body > p, .banner p { margin: 0; }
  .sign-in .view-body { align-items: center; text-align: center; padding: 28px 24px 24px; gap: 16px; }
  .sign-in .view-body > .button { align-self: stretch; }
  .sign-in-mark { width: 40px; height: 40px; border-radius: 10px; background: var(--accent-soft); color: var(--accent); display: grid; place-items: center; }
  .sign-in-mark svg { width: 22px; height: 22px; }
  .sign-in p { color: var(--text-secondary); max-width: 34ch; }

  .button { display: inline-flex; align-items: center; justify-content: center; gap: 6px; min-height: 32px; padding: 5px 12px; border: 1px solid var(--border-strong); border-radius: var(--radius-control);
    background: var(--surface); color: var(--text); font: inherit; font-weight: 500; line-height: 20px; text-align: center; text-decoration: none; cursor: pointer;
    box-shadow: 0 1px 1px rgba(0, 0, 0, .05); transition: background-color .12s, border-color .12s, box-shadow .12s; }
  .button:hover { background: var(--surface-subtle); border-color: #a3acb9; color: var(--text); }
  .button:active { background: #ebeef1; }
  .button:focus-visible { outline: 2px solid transparent; box-shadow: var(--focus); }
  .button-primary { background: var(--accent); border-color: var(--accent); color: #fff; box-shadow: 0 1px 1px rgba(0, 0, 0, .12); }
  .button-primary:hover { background: var(--accent-hover); border-color: var(--accent-hover); color: #fff; }
  .button-primary:active { background: var(--accent-active); }
  .button-destructive { color: var(--danger); border-color: var(--danger-border); }
  .button-destructive:hover { background: var(--danger-soft); border-color: var(--danger); color: var(--danger); }
  .button-destructive:active { background: #ffe8ee; }
  .button[disabled], .button[disabled]:hover { background: #f0f2f5; border-color: var(--border); color: #8c95a3; box-shadow: none; cursor: not-allowed; }

  .banner { display: flex; flex-direction: column; gap: 4px; padding: 12px 14px 12px 16px; border: 1px solid #c7d2fe; border-left: 4px solid #5469d4; border-radius: var(--radius); background: #f5f8ff; }
  .banner strong { font-weight: 600; }
  .banner-critical { background: var(--danger-soft); border-color: #ffcfd8; border-left-color: #df1b41; }
  .banner-caution { background: #fff8e8; border-color: #fbe0a9; border-left-color: #d97917; }
  .banner .button { align-self: flex-start; margin-top: 6px; }

  .badge { display: inline-block; border-radius: 4px; padding: 1px 6px; font-size: 12px; font-weight: 600; line-height: 18px; background: #ebeef1; color: #414552; }
  .badge-positive { background: #d7f7c2; color: #05690d; }
  .badge-warning { background: #fcedb9; color: #8a2d00; }
  .badge-critical, .badge-negative { background: #ffe7f2; color: #b3093c; }
  .badge-info { background: #e2ebff; color: #2941a3; }

  .spinner { width: 16px; height: 16px; border: 2px solid #d5dbe1; border-top-color: var(--accent); border-radius: 50%; display: inline-block; flex: none; animation: spin .8s linear infinite; }
  @keyframes spin { to { transform: rotate(360deg); } }
  @media (prefers-reduced-motion: reduce) { .spinner { animation-duration: 2.4s; } .button { transition: none; } }

  .property-list { margin: 0; display: grid; gap: 10px; }
  .property { display: grid; grid-template-columns: minmax(96px, 38%) minmax(0, 1fr); gap: 12px; }
  .property dt { color: var(--text-muted); }
  /* Ordinary text wraps at spaces; only a word longer than the whole line is broken */
  .property dd { margin: 0; overflow-wrap: break-word; }
  .divider { border: 0; border-top: 1px solid #ebeef1; margin: 4px 0; width: 100%; }
  .unknown { border: 1px dashed #df1b41; border-radius: var(--radius-control); color: var(--danger); background: var(--danger-soft); padding: 6px 10px; font: 12px var(--mono); }

  /* The console's panels (panels/) */
  .panel { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); box-shadow: var(--shadow); overflow: hidden; }
  .panel-title { display: flex; flex-wrap: wrap; align-items: baseline; gap: 2px 8px; margin: 0; padding: 14px 16px; font-size: 14px; font-weight: 600; border-bottom: 1px solid var(--border); }
  .panel-title small { font-size: 12px; font-weight: 400; color: var(--text-muted); }
  .panel-body { padding: 16px; }
  .panel-note { margin: 0; padding: 10px 16px; border-top: 1px solid var(--border); background: #fcf5e6; color: #8a2d00; font-size: 13px; }
  .panel-footer { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 12px 16px; padding: 12px 16px; border-top: 1px solid var(--border); background: var(--surface-subtle); }
  .panel-footer p { margin: 0; }
  .actions { display: flex; flex-wrap: wrap; gap: 8px; }
  .empty { margin: 0; padding: 16px; color: var(--text-muted); }
  .countdown { color: var(--text-secondary); font-variant-numeric: tabular-nums; }
  /* One row of the secrets panel's footer per service */
  .service-actions { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px 16px; width: 100%; }
  .api-key { display: flex; flex-direction: column; align-items: flex-start; gap: 8px; width: 100%; }
  .api-key .payload { width: 100%; box-sizing: border-box; }

  .fields { display: flex; flex-wrap: wrap; gap: 12px 16px; }
  .field { display: flex; flex-direction: column; gap: 4px; flex: 1 1 auto; min-width: min(100%, 200px); }
  .field-short { flex: 0 0 120px; min-width: 0; }
  .field-label { font-size: 12px; font-weight: 600; color: var(--text-secondary); }
  .select { appearance: none; width: 100%; min-height: 32px; padding: 5px 32px 5px 10px; border: 1px solid var(--control-border); border-radius: var(--radius-control); font: inherit; color: var(--text);
    background: var(--surface) url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='12' height='12' viewBox='0 0 12 12'%3E%3Cpath d='M3 4.5l3 3 3-3' fill='none' stroke='%23545969' stroke-width='1.5' stroke-linecap='round' stroke-linejoin='round'/%3E%3C/svg%3E") no-repeat right 10px center;
    box-shadow: 0 1px 1px rgba(0, 0, 0, .04); cursor: pointer; text-overflow: ellipsis; }
  .select:hover { border-color: #545969; }
  .select:focus-visible { outline: 2px solid transparent; border-color: var(--accent); box-shadow: var(--focus); }
  .select[disabled] { background-color: #f0f2f5; color: #8c95a3; cursor: not-allowed; }
  .input { width: 100%; box-sizing: border-box; min-height: 32px; padding: 5px 10px; border: 1px solid var(--control-border); border-radius: var(--radius-control); font: inherit; color: var(--text); background: var(--surface); }
  .input:focus-visible { outline: 2px solid transparent; border-color: var(--accent); box-shadow: var(--focus); }
  .field-error { color: var(--danger); font-size: 12px; }

  .table-wrap { overflow-x: auto; }
  .table { border-collapse: collapse; width: 100%; font-size: 13px; }
  .table th { padding: 8px 12px; background: var(--surface-subtle); border-bottom: 1px solid var(--border); color: var(--text-secondary); font-size: 12px; font-weight: 600; text-align: left; white-space: nowrap; }
  .table td { padding: 10px 12px; border-bottom: 1px solid var(--border); vertical-align: top; }
  .table tr:last-child td { border-bottom: 0; }
  .table tbody tr:hover td { background: #fafbfc; }
  .table th:first-child, .table td:first-child { padding-left: 16px; }
  .table th:last-child, .table td:last-child { padding-right: 16px; }
  .table .nowrap { white-space: nowrap; }
  .table .shrink { width: 1%; white-space: nowrap; }
  .table .num { text-align: right; font-variant-numeric: tabular-nums; }
  .table .name { font: 12px var(--mono); white-space: nowrap; }
  /* Masked payloads and tokens may wrap anywhere; nothing else does */
  .payload { display: block; padding: 6px 8px; border: 1px solid var(--border); border-radius: var(--radius-control); background: var(--surface-subtle); color: #30313d; line-height: 1.5; overflow-wrap: anywhere; }
  .tone { display: inline-block; border-radius: 4px; padding: 0 6px; font: 12px/18px var(--mono); background: #ebeef1; color: #414552; }
  .tone-positive { background: #d7f7c2; color: #05690d; }
  .tone-warning { background: #fcedb9; color: #8a2d00; }
  .tone-critical { background: #ffe7f2; color: #b3093c; }
  .count { margin-left: 6px; color: var(--text-muted); font-size: 12px; font-variant-numeric: tabular-nums; }
  .muted { color: var(--text-muted); font-size: 12px; }

  /* The console's own notices: a failed action, a build that failed (never a native dialog) */
  .notice { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px 16px; max-width: 1512px; margin: 16px auto 0; padding: 10px 12px 10px 16px;
    border: 1px solid #fbe0a9; border-left: 4px solid #d97917; border-radius: var(--radius); background: #fff8e8; }
  .notice-critical { border-color: #ffcfd8; border-left-color: #df1b41; background: var(--danger-soft); font: 12px/1.5 var(--mono); white-space: pre-wrap; }
  @media (max-width: 1559.98px) { .notice { margin: 16px 24px 0; } }
</style>
</head>
<body>
<header class="top"><strong>Offline Dashboard</strong><small>this app's own views from src/views, no Stripe account needed</small></header>
<div id="console"></div>
<script src="/host.js"></script>
</body>
</html>`;
