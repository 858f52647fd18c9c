/**
 * The run viewer: one self-contained HTML page (no external scripts, works offline) that draws a task's
 * graph with each node's status and timing, and follows the run live over the server's SSE stream.
 */

export interface RunViewerOptions {
  taskID: string;
  /** Base path of the task API, e.g. `/api` or `/flow/api`. */
  apiBase: string;
  /** The workflow schema as submitted (nodes, edges, blocks). */
  schema: unknown;
}

/** JSON that is safe inside a <script> element. */
function embedJson(value: unknown): string {
  return JSON.stringify(value ?? null)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export function renderRunViewer(options: RunViewerOptions): string {
  const config = { taskID: options.taskID, apiBase: options.apiBase, schema: options.schema };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Run ${escapeHtml(options.taskID)} · flowgram runtime</title>
<style>
  :root { --bg:#f7f8fa; --fg:#1d2129; --muted:#86909c; --line:#c9cdd4; --card:#fff;
          --pending:#c9cdd4; --processing:#3370ff; --succeeded:#00b42a; --failed:#f53f3f; --canceled:#ff7d00; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, Segoe UI, sans-serif; color:var(--fg); background:var(--bg); }
  header { display:flex; gap:16px; align-items:center; padding:12px 20px; background:var(--card); border-bottom:1px solid var(--line); }
  header h1 { font-size:16px; margin:0; font-weight:600; }
  .badge { display:inline-block; padding:2px 8px; border-radius:10px; color:#fff; font-size:12px; background:var(--pending); }
  .badge.processing { background:var(--processing); } .badge.succeeded { background:var(--succeeded); }
  .badge.failed { background:var(--failed); } .badge.canceled { background:var(--canceled); }
  main { display:flex; height:calc(100vh - 50px); }
  #canvas { flex:1; overflow:auto; }
  aside { width:380px; border-left:1px solid var(--line); background:var(--card); overflow:auto; padding:12px 16px; }
  aside h2 { font-size:14px; margin:8px 0; }
  pre { background:var(--bg); padding:8px; border-radius:4px; overflow:auto; font-size:12px; max-height:260px; }
  .muted { color:var(--muted); }
  svg text { font-size:12px; fill:var(--fg); }
  .node rect.box { fill:var(--card); stroke:var(--line); stroke-width:1.5; rx:6; }
  .node { cursor:pointer; }
  .node.selected rect.box { stroke:var(--fg); stroke-width:2; }
  .node rect.status { rx:3; }
  .edge { fill:none; stroke:var(--line); stroke-width:1.5; }
  .block { fill:none; stroke:var(--line); stroke-dasharray:4 3; rx:8; }
</style>
</head>
<body>
<header>
  <h1>Run <code id="task-id"></code></h1>
  <span id="workflow-status" class="badge">pending</span>
  <span id="workflow-time" class="muted"></span>
  <span id="live" class="muted"></span>
</header>
<main>
  <div id="canvas"><svg id="graph" xmlns="http://www.w3.org/2000/svg"></svg></div>
  <aside id="details"><p class="muted">Select a node to see its inputs, outputs and errors.</p></aside>
</main>
<script id="viewer-config" type="application/json">${embedJson(config)}</script>
<script>
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('viewer-config').textContent);
  var NODE_W = 220, NODE_H = 56, GAP_X = 60, GAP_Y = 24, PAD = 24;
  var svgNS = 'http://www.w3.org/2000/svg';
  var statusColors = { pending: '#c9cdd4', processing: '#3370ff', succeeded: '#00b42a', failed: '#f53f3f', canceled: '#ff7d00' };
  var state = { report: null, live: {}, selected: null, boxes: {} };
  document.getElementById('task-id').textContent = config.taskID;

  function el(name, attrs, parent) {
    var node = document.createElementNS(svgNS, name);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  // Layered layout: a node's column is its longest distance from the entry; loop blocks are laid out
  // recursively and drawn as boxes that the loop node's column makes room for.
  function layout(nodes, edges) {
    var byId = {}, depth = {}, incoming = {};
    nodes.forEach(function (n) { byId[n.id] = n; incoming[n.id] = 0; });
    edges.forEach(function (e) { if (byId[e.sourceNodeID] && byId[e.targetNodeID]) incoming[e.targetNodeID]++; });
    var queue = nodes.filter(function (n) { return incoming[n.id] === 0; }).map(function (n) { return n.id; });
    queue.forEach(function (id) { depth[id] = 0; });
    var remaining = Object.assign({}, incoming);
    while (queue.length) {
      var id = queue.shift();
      edges.forEach(function (e) {
        if (e.sourceNodeID !== id || !byId[e.targetNodeID]) return;
        depth[e.targetNodeID] = Math.max(depth[e.targetNodeID] || 0, depth[id] + 1);
        if (--remaining[e.targetNodeID] === 0) queue.push(e.targetNodeID);
      });
    }
    var columns = [];
    nodes.forEach(function (n) {
      var d = depth[n.id] || 0;
      (columns[d] = columns[d] || []).push(n);
    });
    var items = {}, x = 0, height = 0;
    columns.forEach(function (column) {
      var y = 0, width = NODE_W;
      (column || []).forEach(function (n) {
        var inner = Array.isArray(n.blocks) && n.blocks.length ? layout(n.blocks, n.edges || []) : null;
        var w = inner ? Math.max(NODE_W, inner.width + 2 * PAD) : NODE_W;
        var h = inner ? NODE_H + inner.height + 2 * PAD : NODE_H;
        items[n.id] = { node: n, x: x, y: y, w: w, h: h, inner: inner };
        width = Math.max(width, w);
        y += h + GAP_Y;
      });
      height = Math.max(height, y - GAP_Y);
      x += width + GAP_X;
    });
    return { items: items, edges: edges, width: Math.max(0, x - GAP_X), height: height };
  }

  function draw(graph, ox, oy, svg) {
    Object.keys(graph.items).forEach(function (id) {
      var it = graph.items[id];
      if (it.inner) {
        el('rect', { class: 'block', x: ox + it.x, y: oy + it.y, width: it.w, height: it.h }, svg);
        draw(it.inner, ox + it.x + PAD, oy + it.y + NODE_H + PAD, svg);
      }
      var g = el('g', { class: 'node', 'data-id': id }, svg);
      el('rect', { class: 'box', x: ox + it.x, y: oy + it.y, width: it.inner ? it.w : NODE_W, height: NODE_H }, g);
      var status = el('rect', { class: 'status', x: ox + it.x + 8, y: oy + it.y + 10, width: 6, height: NODE_H - 20 }, g);
      var title = el('text', { x: ox + it.x + 22, y: oy + it.y + 23 }, g);
      title.textContent = ((it.node.data && it.node.data.title) || it.node.id).slice(0, 24);
      var sub = el('text', { x: ox + it.x + 22, y: oy + it.y + 42, class: 'muted', fill: '#86909c' }, g);
      sub.textContent = it.node.type;
      state.boxes[id] = { status: status, sub: sub, type: it.node.type, g: g };
      g.addEventListener('click', function () { select(id); });
    });
    graph.edges.forEach(function (e) {
      var a = graph.items[e.sourceNodeID], b = graph.items[e.targetNodeID];
      if (!a || !b) return;
      var x1 = ox + a.x + (a.inner ? a.w : NODE_W), y1 = oy + a.y + NODE_H / 2;
      var x2 = ox + b.x, y2 = oy + b.y + NODE_H / 2, mid = (x1 + x2) / 2;
      var path = el('path', { class: 'edge', d: 'M' + x1 + ' ' + y1 + ' C' + mid + ' ' + y1 + ' ' + mid + ' ' + y2 + ' ' + x2 + ' ' + y2 }, svg);
      svg.insertBefore(path, svg.firstChild);
      if (e.sourcePortID) {
        // Labelled at the target end, where edges from one port fan out and no longer overlap.
        var label = el('text', { x: x2 - 6, y: y2 - 6, fill: '#86909c', 'text-anchor': 'end' }, svg);
        label.textContent = String(e.sourcePortID);
      }
    });
  }

  function render() {
    var schema = config.schema || { nodes: [], edges: [] };
    if (typeof schema === 'string') { try { schema = JSON.parse(schema); } catch (e) { schema = { nodes: [], edges: [] }; } }
    var graph = layout(Array.isArray(schema.nodes) ? schema.nodes : [], Array.isArray(schema.edges) ? schema.edges : []);
    var svg = document.getElementById('graph');
    svg.setAttribute('width', graph.width + 2 * PAD);
    svg.setAttribute('height', graph.height + 2 * PAD);
    draw(graph, PAD, PAD, svg);
  }

  function nodeState(id) {
    var report = state.report && state.report.reports && state.report.reports[id];
    var live = state.live[id];
    if (live && (!report || live.time >= (report.endTime || report.startTime || 0))) return live;
    return report ? { status: report.status, timeCost: report.timeCost } : null;
  }

  function paint() {
    Object.keys(state.boxes).forEach(function (id) {
      var box = state.boxes[id], s = nodeState(id);
      box.status.setAttribute('fill', statusColors[s ? s.status : 'pending'] || statusColors.pending);
      box.sub.textContent = box.type + (s ? ' · ' + s.status + (s.timeCost !== undefined ? ' · ' + s.timeCost + ' ms' : '') : '');
      box.g.setAttribute('class', 'node' + (state.selected === id ? ' selected' : ''));
    });
    var ws = state.report && state.report.workflowStatus;
    if (ws) {
      var badge = document.getElementById('workflow-status');
      badge.textContent = ws.status;
      badge.className = 'badge ' + ws.status;
      document.getElementById('workflow-time').textContent = ws.timeCost + ' ms';
    }
    if (state.selected) showDetails(state.selected);
  }

  function section(parent, title, value) {
    var h = document.createElement('h2'); h.textContent = title; parent.appendChild(h);
    var pre = document.createElement('pre'); pre.textContent = JSON.stringify(value, null, 2); parent.appendChild(pre);
  }

  function showDetails(id) {
    var aside = document.getElementById('details');
    aside.textContent = '';
    var h = document.createElement('h2'); h.textContent = id; aside.appendChild(h);
    var report = state.report && state.report.reports && state.report.reports[id];
    if (!report) { var p = document.createElement('p'); p.className = 'muted'; p.textContent = 'Not run (yet).'; aside.appendChild(p); return; }
    section(aside, 'Status', { status: report.status, startTime: report.startTime, endTime: report.endTime, timeCost: report.timeCost, runs: report.snapshots.length });
    var last = report.snapshots[report.snapshots.length - 1];
    if (last) {
      section(aside, 'Inputs', last.inputs);
      if (last.outputs) section(aside, 'Outputs', last.outputs);
      if (last.branch) section(aside, 'Branch', last.branch);
      if (last.error) section(aside, 'Error', last.error);
    }
  }

  function select(id) { state.selected = id; paint(); }

  // A page opened with ?access_token= (a server with a token) passes it on: EventSource cannot send headers.
  var accessToken = new URLSearchParams(location.search).get('access_token');
  function api(route) {
    var url = config.apiBase + route + '?taskID=' + encodeURIComponent(config.taskID);
    return accessToken ? url + '&access_token=' + encodeURIComponent(accessToken) : url;
  }

  function fetchReport() {
    return fetch(api('/task/report'))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (report) { if (report) { state.report = report; paint(); } return report; })
      .catch(function () { return null; });
  }

  function follow() {
    if (!window.EventSource) return poll();
    var source = new EventSource(api('/task/stream'));
    document.getElementById('live').textContent = '● live';
    function onNode(event) {
      var data = JSON.parse(event.data);
      state.live[data.nodeID] = { status: data.type === 'node_started' ? 'processing' : data.status, timeCost: data.timeCost, time: data.time };
      paint();
    }
    source.addEventListener('node_started', onNode);
    source.addEventListener('node_finished', onNode);
    source.addEventListener('workflow_finished', function () {
      source.close();
      document.getElementById('live').textContent = '';
      fetchReport();
    });
    source.onerror = function () { source.close(); document.getElementById('live').textContent = ''; poll(); };
  }

  function poll() {
    fetchReport().then(function (report) {
      if (!report || !report.workflowStatus || !report.workflowStatus.terminated) setTimeout(poll, 1000);
    });
  }

  render();
  fetchReport().then(function (report) {
    if (!report || !report.workflowStatus || !report.workflowStatus.terminated) follow();
  });
})();
</script>
</body>
</html>`;
}
