/** The workflow graph as SVG (laid out by layout.ts): statuses, taken edges, selection; zoom, pan and fit. */
import { s } from './dom.js';
import { titleText } from './format.js';
import { HEADER, NODE_H, PAD, layoutLevel, type Level } from './layout.js';
import type { SchemaEdge, SchemaNode } from './types.js';

export interface NodeLook {
  /** succeeded, failed, processing, pending, canceled or skipped. */
  status: string;
  /** One short line under the title: status and time. */
  detail: string;
}

export interface GraphOptions {
  look(nodeID: string): NodeLook;
  edgeState(edge: SchemaEdge): 'taken' | 'untaken' | 'pending';
  onSelect(nodeID: string): void;
}

interface DrawnNode {
  group: SVGGElement;
  detail: SVGTextElement;
  /** The box's centre in drawing coordinates. */
  cx: number;
  cy: number;
}

/** Below this scale titles are too small to read: the first view then shows one node at this scale instead of all. */
const READABLE_SCALE = 0.55;

/** Long titles are shortened inside the box; the full title is in the tooltip and the side panel. */
function short(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export class WorkflowGraph {
  readonly element: HTMLElement;
  private readonly svg: SVGSVGElement;
  private readonly viewport: SVGGElement;
  private readonly drawn = new Map<string, DrawnNode>();
  private readonly edges: Array<{ edge: SchemaEdge; path: SVGPathElement }> = [];
  private readonly level: Level;
  private scale = 1;
  private tx = 0;
  private ty = 0;
  private selected: string | undefined;

  constructor(
    nodes: SchemaNode[],
    edges: SchemaEdge[],
    private readonly options: GraphOptions,
  ) {
    this.level = layoutLevel(nodes, edges);
    this.viewport = s('g', { class: 'viewport' });
    this.drawLevel(this.level, this.viewport, 0, 0);
    this.svg = s('svg', { class: 'graph', role: 'img', 'aria-label': 'Workflow graph' }, this.viewport);
    this.element = document.createElement('div');
    this.element.className = 'graph-box';
    this.element.tabIndex = 0;
    this.element.setAttribute('aria-label', 'Workflow graph: arrow keys pan, + and - zoom, 0 fits');
    this.element.appendChild(this.svg);
    this.listen();
    this.update();
  }

  private drawLevel(level: Level, parent: SVGGElement, offsetX: number, offsetY: number): void {
    const byID = new Map(level.boxes.map((box) => [box.node.id, box]));
    for (const edge of level.edges) {
      const from = byID.get(edge.sourceNodeID);
      const to = byID.get(edge.targetNodeID);
      if (!from || !to) continue;
      const x1 = from.x + from.w;
      const y1 = from.y + Math.min(from.h, NODE_H) / 2;
      const x2 = to.x;
      const y2 = to.y + Math.min(to.h, NODE_H) / 2;
      const bend = Math.max(40, Math.abs(x2 - x1) / 2);
      const path = s('path', { class: 'edge', d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}` });
      parent.appendChild(path);
      if (edge.sourcePortID !== undefined && edge.sourcePortID !== '') {
        parent.appendChild(s('text', { class: 'port', x: x2 - 8, y: y2 - 6, 'text-anchor': 'end' }, short(String(edge.sourcePortID), 24)));
      }
      this.edges.push({ edge, path });
    }
    for (const box of level.boxes) {
      const title = titleText(box.node.data?.title, box.node.id);
      const detail = s('text', { class: 'detail', x: 14, y: 44 });
      const group = s(
        'g',
        { class: 'node', transform: `translate(${box.x},${box.y})`, tabindex: 0, role: 'button', 'data-node-id': box.node.id, 'aria-label': `${title} (${box.node.type})` },
        s('title', undefined, `${title} — ${box.node.type} ${box.node.id}`),
        s('rect', { class: box.inner ? 'box container' : 'box', width: box.w, height: box.h, rx: 8 }),
        s('rect', { class: 'bar', width: 6, height: Math.min(box.h, NODE_H), rx: 3 }),
        s('text', { class: 'title', x: 14, y: 23 }, short(title, 21)),
        detail,
      );
      group.addEventListener('click', (event) => {
        event.stopPropagation();
        this.options.onSelect(box.node.id);
      });
      group.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          event.stopPropagation();
          this.options.onSelect(box.node.id);
        }
      });
      parent.appendChild(group);
      this.drawn.set(box.node.id, { group, detail, cx: offsetX + box.x + box.w / 2, cy: offsetY + box.y + Math.min(box.h, NODE_H) / 2 });
      if (box.inner) {
        const inner = s('g', { transform: `translate(${box.x + PAD},${box.y + HEADER})` });
        parent.appendChild(inner);
        this.drawLevel(box.inner, inner, offsetX + box.x + PAD, offsetY + box.y + HEADER);
      }
    }
  }

  /** Re-reads every node's status and every edge's state (live runs call it on each change). */
  update(): void {
    for (const [nodeID, drawn] of this.drawn) {
      const look = this.options.look(nodeID);
      drawn.group.setAttribute('class', `node status-${look.status}${nodeID === this.selected ? ' selected' : ''}`);
      drawn.detail.textContent = look.detail;
    }
    for (const { edge, path } of this.edges) path.setAttribute('class', `edge ${this.options.edgeState(edge)}`);
  }

  select(nodeID: string | undefined): void {
    this.selected = nodeID;
    this.update();
  }

  private apply(): void {
    this.viewport.setAttribute('transform', `translate(${this.tx},${this.ty}) scale(${this.scale})`);
  }

  zoom(factor: number, cx?: number, cy?: number): void {
    const rect = this.svg.getBoundingClientRect();
    const x = cx ?? rect.width / 2;
    const y = cy ?? rect.height / 2;
    const next = Math.min(3, Math.max(0.15, this.scale * factor));
    this.tx = x - ((x - this.tx) * next) / this.scale;
    this.ty = y - ((y - this.ty) * next) / this.scale;
    this.scale = next;
    this.apply();
  }

  private fitScale(): { scale: number; width: number; height: number } {
    const rect = this.svg.getBoundingClientRect();
    const width = rect.width || 800;
    const height = rect.height || 400;
    const margin = 24;
    return { scale: Math.min(1.25, (width - 2 * margin) / this.level.width, (height - 2 * margin) / this.level.height), width, height };
  }

  /** The whole workflow on screen. */
  fit(): void {
    const { scale, width, height } = this.fitScale();
    this.scale = scale;
    this.tx = (width - this.level.width * scale) / 2;
    this.ty = (height - this.level.height * scale) / 2;
    this.apply();
  }

  /**
   * The first view: the whole workflow where it fits at a readable size (as on a desktop screen);
   * otherwise (a phone, a long workflow) the node that matters, readable, with the rest a pan away.
   */
  initialView(focusID: string | undefined): void {
    const { scale, width, height } = this.fitScale();
    const focus = focusID === undefined ? undefined : this.drawn.get(focusID);
    if (scale >= READABLE_SCALE || !focus) {
      this.fit();
      return;
    }
    this.scale = READABLE_SCALE;
    // The focus node a third from the left, so what follows it shows too.
    this.tx = Math.min(24, width / 3 - focus.cx * this.scale);
    this.ty = height / 2 - focus.cy * this.scale;
    this.apply();
  }

  private listen(): void {
    this.svg.addEventListener(
      'wheel',
      (event) => {
        event.preventDefault();
        const rect = this.svg.getBoundingClientRect();
        this.zoom(Math.exp(-event.deltaY * 0.0015), event.clientX - rect.left, event.clientY - rect.top);
      },
      { passive: false },
    );
    let drag: { x: number; y: number } | undefined;
    this.svg.addEventListener('pointerdown', (event) => {
      if ((event.target as Element).closest('.node')) return;
      drag = { x: event.clientX - this.tx, y: event.clientY - this.ty };
      this.svg.setPointerCapture(event.pointerId);
    });
    this.svg.addEventListener('pointermove', (event) => {
      if (!drag) return;
      this.tx = event.clientX - drag.x;
      this.ty = event.clientY - drag.y;
      this.apply();
    });
    const stop = (): void => {
      drag = undefined;
    };
    this.svg.addEventListener('pointerup', stop);
    this.svg.addEventListener('pointercancel', stop);
    this.element.addEventListener('keydown', (event) => {
      const step = 40;
      const actions: Record<string, () => void> = {
        '+': () => this.zoom(1.2),
        '=': () => this.zoom(1.2),
        '-': () => this.zoom(1 / 1.2),
        '0': () => this.fit(),
        ArrowLeft: () => (this.tx += step),
        ArrowRight: () => (this.tx -= step),
        ArrowUp: () => (this.ty += step),
        ArrowDown: () => (this.ty -= step),
      };
      const action = actions[event.key];
      if (!action || (event.target as Element).closest('.node')) return;
      event.preventDefault();
      action();
      this.apply();
    });
  }
}
