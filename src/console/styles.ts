/** The console's styles, adopted as a constructed stylesheet (the page's CSP allows no inline styles). */

const CSS = `
:root { --bg:#f6f7f9; --fg:#1d2129; --muted:#5c6470; --line:#d0d4db; --card:#fff; --accent:#2f5fd0;
  --pending:#8a919c; --processing:#2f5fd0; --succeeded:#0f8a3a; --failed:#d42a2a; --canceled:#b35900; --skipped:#8a919c; --waiting:#7c3aed;
  color-scheme: light; }
* { box-sizing: border-box; }
[hidden] { display:none !important; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--accent); }
:focus-visible { outline:3px solid #7aa2ff; outline-offset:2px; }
.skip { position:absolute; left:-9999px; } .skip:focus { left:8px; top:8px; background:#fff; padding:6px; z-index:10; }
.visually-hidden { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); }
header.top { display:flex; gap:16px; align-items:center; padding:10px 20px; background:#111827; color:#fff; flex-wrap:wrap; }
header.top a { color:#fff; text-decoration:none; } header.top .brand { font-weight:700; }
header.top nav { display:flex; gap:14px; flex:1; } header.top .link { color:#cbd5e1; }
main { padding:16px 20px; max-width:1600px; margin:0 auto; }
h2 { font-size:18px; margin:0 0 8px; } h3 { font-size:14px; margin:12px 0 6px; }
.muted { color:var(--muted); }
.mono, code, pre, textarea.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px; }
button, .button { font:inherit; padding:6px 12px; border:1px solid var(--line); background:#fff; color:var(--fg); border-radius:6px; cursor:pointer; text-decoration:none; display:inline-block; }
button:disabled { opacity:.5; cursor:default; }
button.primary, .button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
button.danger { border-color:var(--failed); color:var(--failed); }
button.link { border:0; background:none; color:var(--accent); padding:2px 4px; text-decoration:underline; }
input, select, textarea { font:inherit; padding:6px 8px; border:1px solid var(--line); border-radius:6px; background:#fff; color:var(--fg); max-width:100%; }
textarea { width:100%; }
[aria-invalid] { border-color:var(--failed); }
.page-head { display:flex; justify-content:space-between; align-items:center; gap:12px; margin-bottom:8px; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff; font-size:12px; background:var(--pending); white-space:nowrap; }
.status-processing.badge { background:var(--processing); } .status-succeeded.badge { background:var(--succeeded); }
.status-failed.badge { background:var(--failed); } .status-canceled.badge { background:var(--canceled); }
.status-waiting.badge { background:var(--waiting); }
.status-skipped.badge { background:#fff; color:var(--skipped); border:1px dashed var(--skipped); }
.totals { display:flex; gap:8px; flex-wrap:wrap; margin:8px 0; }
.chip { border-radius:16px; } .chip[aria-pressed="true"] { background:#e8efff; border-color:var(--accent); }
.filters { display:flex; gap:8px; flex-wrap:wrap; align-items:center; margin:8px 0 12px; }
.filters input[type=search] { min-width:240px; flex:1; }
.table-box { overflow-x:auto; background:var(--card); border:1px solid var(--line); border-radius:8px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:8px 10px; border-bottom:1px solid #eceef2; vertical-align:top; }
th { font-weight:600; color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
td.title-cell { overflow-wrap:anywhere; } td.started { white-space:nowrap; } .row-error { color:var(--failed); font-size:12px; overflow-wrap:anywhere; }
.empty { padding:16px; }
.pager { display:flex; gap:12px; align-items:center; justify-content:flex-end; margin:10px 0; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 16px; margin-bottom:12px; }
.row { display:flex; gap:10px; flex-wrap:wrap; align-items:center; margin-top:8px; }
.field { margin:10px 0; } .field label { font-weight:600; display:block; margin-bottom:4px; }
.field .type { font-weight:400; color:var(--muted); font-size:12px; } .required { color:var(--failed); }
.field input:not([type=checkbox]), .field select { width:100%; max-width:480px; }
.field-error { color:var(--failed); margin:4px 0 0; min-height:0; } .field-error:empty { display:none; }
.problems { color:var(--failed); } .problems:empty { display:none; }
.token { max-width:420px; margin:40px auto; } .token input { width:100%; }
.viewer { display:flex; flex-direction:column; gap:8px; }
.run-header { display:flex; flex-wrap:wrap; gap:8px 16px; align-items:center; }
.run-header h2 { margin:0; overflow-wrap:anywhere; } .run-meta { display:flex; gap:10px; align-items:center; flex-wrap:wrap; }
.actions { display:flex; gap:8px; margin-left:auto; flex-wrap:wrap; }
.banner { display:flex; gap:10px; flex-wrap:wrap; align-items:baseline; padding:10px 14px; border-radius:8px; }
.banner.error { background:#fdecec; border:1px solid #f2b8b8; color:#7a1111; }
.banner.waiting { background:#f3edff; border:1px solid #cdb8f7; color:#3b1a7a; }
.banner-message { white-space:pre-wrap; overflow-wrap:anywhere; }
.viewer-body { display:grid; grid-template-columns:minmax(0,1fr) 380px; gap:12px; min-height:520px; height:calc(100vh - 190px); }
.canvas { position:relative; background:var(--card); border:1px solid var(--line); border-radius:8px; overflow:hidden; min-height:320px; }
.zoom { position:absolute; right:8px; top:8px; display:flex; gap:4px; z-index:1; }
.graph-box { width:100%; height:100%; } .graph { width:100%; height:100%; display:block; touch-action:none; cursor:grab; }
.panel { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; overflow:auto; }
.panel-section h3 { border-top:1px solid #eceef2; padding-top:10px; }
.node-head { display:grid; grid-template-columns:1fr auto; align-items:start; } .node-head h2 { overflow-wrap:anywhere; }
.node-head p { grid-column:1 / -1; margin:2px 0; }
pre.value { background:#f3f4f6; padding:8px; border-radius:6px; margin:0; white-space:pre-wrap; overflow-wrap:anywhere; }
pre.error-text { background:#fdecec; color:#7a1111; }
.logs { list-style:none; padding:0; margin:0; font-family: ui-monospace, Menlo, Consolas, monospace; font-size:12.5px; }
.log { display:grid; grid-template-columns:auto auto 1fr; gap:8px; padding:3px 0; border-bottom:1px dashed #eceef2; }
.log time, .log .level { color:var(--muted); } .log-text { white-space:pre-wrap; overflow-wrap:anywhere; }
.level-error .log-text { color:var(--failed); } .level-warning .log-text { color:var(--canceled); }
svg text { font-size:12px; fill:var(--fg); } svg text.title { font-size:15px; font-weight:600; } svg text.detail { fill:var(--muted); font-size:13px; } svg text.port { fill:var(--muted); font-size:11px; }
.node { cursor:pointer; } .node:focus { outline:none; } .node:focus-visible rect.box { stroke:#7aa2ff; stroke-width:3; }
.node rect.box { fill:#fff; stroke:var(--line); stroke-width:1.5; } .node rect.box.container { fill:#f8fafc; stroke-dasharray:6 4; }
.node rect.bar { fill:var(--pending); }
.node.status-processing rect.bar { fill:var(--processing); } .node.status-processing rect.box { stroke:var(--processing); }
.node.status-succeeded rect.bar { fill:var(--succeeded); } .node.status-failed rect.bar { fill:var(--failed); }
.node.status-failed rect.box { stroke:var(--failed); stroke-width:2; } .node.status-canceled rect.bar { fill:var(--canceled); }
.node.status-waiting rect.bar { fill:var(--waiting); } .node.status-waiting rect.box { stroke:var(--waiting); stroke-width:2; }
.node.status-skipped { opacity:.55; } .node.status-skipped rect.box { stroke-dasharray:4 3; }
.node.selected rect.box { stroke:var(--fg); stroke-width:2.5; }
.edge { fill:none; stroke:#c3c8d0; stroke-width:1.5; } .edge.taken { stroke:var(--succeeded); stroke-width:2.5; }
.edge.untaken { stroke:#d9dce1; stroke-dasharray:5 4; opacity:.7; }
.value-box .link { margin-top:4px; }
ol.code { position:relative; list-style:none; margin:0; padding:6px 0; background:#f3f4f6; border-radius:6px; max-height:320px; overflow:auto;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px; counter-reset:line; }
ol.code li { counter-increment:line; white-space:pre; padding-right:8px; }
ol.code li::before { content:counter(line); display:inline-block; width:3em; margin-right:10px; text-align:right; color:var(--muted); user-select:none; }
ol.code li.marked { background:#fbd5d5; } ol.code li.marked::before { color:var(--failed); font-weight:700; }
.timeline { list-style:none; padding:0; margin:0; }
.timeline li { padding:5px 0; border-bottom:1px dashed #eceef2; }
.timeline-head { display:flex; gap:6px; align-items:center; } .timeline-head .link { text-align:left; overflow-wrap:anywhere; }
.timeline-time { font-size:12px; }
.track { position:relative; height:6px; background:#eef0f3; border-radius:3px; margin-top:3px; overflow:hidden; }
.track .bar { position:absolute; top:0; height:6px; border-radius:3px; background:var(--pending); }
.track .bar.status-processing { background:var(--processing); } .track .bar.status-succeeded { background:var(--succeeded); }
.track .bar.status-failed { background:var(--failed); } .track .bar.status-waiting { background:var(--waiting); } .track .bar.status-canceled { background:var(--canceled); }
@media (max-width: 900px) {
  main { padding:10px; }
  .viewer-body { grid-template-columns:1fr; height:auto; }
  .canvas { height:60vh; }
  .actions { margin-left:0; }
  th:nth-child(4), td:nth-child(4) { display:none; }
}
@media (max-width: 560px) {
  th:nth-child(5), td:nth-child(5) { display:none; }
  .filters input[type=search] { min-width:0; flex:1 1 100%; }
  td.started .time { display:block; }
}
`;

export function applyStyles(): void {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}
