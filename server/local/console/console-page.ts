/** The console page's HTML and styles: a drawer-like frame per view, panels beside them. */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Offline Dashboard — OAuth broker</title>
<style>
  body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1a1f36; background: #f6f8fa; }
  header.top { background: #0a2540; color: #fff; padding: 10px 20px; }
  header.top small { color: #adbdcc; margin-left: 8px; }
  main { display: flex; gap: 24px; padding: 20px; align-items: flex-start; }
  .column { display: flex; flex-direction: column; gap: 8px; }
  .column:first-child { width: 420px; flex: none; }
  .panels { flex: 1; min-width: 0; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: #697386; margin: 8px 0 0; }
  h2 small, h3 small { text-transform: none; letter-spacing: 0; font-weight: normal; color: #8792a2; }
  .drawer { background: #fff; border: 1px solid #e3e8ee; border-radius: 8px; box-shadow: 0 2px 5px rgba(60,66,87,.08); min-height: 120px; overflow: hidden; }
  .view-title { font-size: 16px; font-weight: 600; padding: 14px 16px; border-bottom: 1px solid #e3e8ee; }
  .view-body { padding: 16px; display: flex; flex-direction: column; gap: 12px; }
  .sign-in .view-body { align-items: flex-start; }
  .button { display: inline-block; border: 1px solid #d5dbe1; background: #fff; color: #1a1f36; border-radius: 6px; padding: 5px 12px; font: inherit; cursor: pointer; text-decoration: none; }
  .button-primary { background: #635bff; border-color: #635bff; color: #fff; }
  .button-destructive { color: #df1b41; }
  .button[disabled] { opacity: .5; cursor: default; }
  .banner { border-radius: 6px; padding: 10px 12px; background: #f5f8ff; border: 1px solid #d7e0ff; display: flex; flex-direction: column; gap: 4px; }
  .banner-critical { background: #fff5f7; border-color: #ffcfd8; }
  .banner-caution { background: #fff8e8; border-color: #ffe2a8; }
  .badge { display: inline-block; border-radius: 4px; padding: 0 6px; font-size: 12px; font-weight: 600; background: #e3e8ee; }
  .badge-positive { background: #d7f7c2; color: #05690d; }
  .badge-warning { background: #fcedb9; color: #a82c00; }
  .spinner { width: 14px; height: 14px; border: 2px solid #d5dbe1; border-top-color: #635bff; border-radius: 50%; display: inline-block; animation: spin .8s linear infinite; }
  @keyframes spin { to { transform: rotate(360deg); } }
  .property-list { margin: 0; display: grid; gap: 6px; }
  .property { display: grid; grid-template-columns: 150px 1fr; gap: 8px; }
  .property dt { color: #697386; }
  .property dd { margin: 0; word-break: break-all; }
  .unknown { border: 1px dashed #df1b41; color: #df1b41; padding: 4px 8px; }
  .panel { background: #fff; border: 1px solid #e3e8ee; border-radius: 8px; padding: 12px 16px; }
  .panel h3 { margin: 0 0 8px; font-size: 14px; }
  .panel label { margin-right: 14px; }
  .panel table { border-collapse: collapse; width: 100%; font-size: 12px; margin-bottom: 8px; }
  .panel th, .panel td { text-align: left; border-bottom: 1px solid #eef1f4; padding: 4px 6px; vertical-align: top; }
  .panel code { word-break: break-all; }
  .empty { color: #8792a2; }
</style>
</head>
<body>
<header class="top"><strong>Offline Dashboard</strong><small>this app's own views from src/views, no Stripe account needed</small></header>
<div id="console"></div>
<script src="/host.js"></script>
</body>
</html>`;
