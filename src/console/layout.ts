/**
 * Where each node of a workflow goes: where the editor put it (`meta.position`), or by depth where a
 * position is missing or the editor's positions would overlap; a node with blocks (a loop) becomes a
 * container sized to hold its own laid-out block.
 */
import type { SchemaEdge, SchemaNode } from './types.js';

export const NODE_W = 200;
export const NODE_H = 56;
const GAP_X = 80;
const GAP_Y = 32;
/**
 * The widest empty band kept between the editor's nodes. The editor draws wider nodes (and people
 * leave room): kept as they are, the gaps would make a fitted graph too small to read.
 */
const MAX_GAP_X = 100;
const MAX_GAP_Y = 60;
export const PAD = 24;
export const HEADER = 44;

export interface Box {
  node: SchemaNode;
  x: number;
  y: number;
  w: number;
  h: number;
  inner?: Level;
}

export interface Level {
  boxes: Box[];
  edges: SchemaEdge[];
  width: number;
  height: number;
}

function position(node: SchemaNode): { x: number; y: number } | undefined {
  const x = Number(node.meta?.position?.x);
  const y = Number(node.meta?.position?.y);
  return node.meta?.position && Number.isFinite(x) && Number.isFinite(y) ? { x, y } : undefined;
}

/** Longest path from a node without incoming edges; cycles are cut. */
function depths(nodes: SchemaNode[], edges: SchemaEdge[]): Map<string, number> {
  const depth = new Map(nodes.map((node) => [node.id, 0]));
  for (let round = 0; round < nodes.length; round++) {
    let changed = false;
    for (const edge of edges) {
      const from = depth.get(edge.sourceNodeID);
      const to = depth.get(edge.targetNodeID);
      if (from === undefined || to === undefined || to >= from + 1) continue;
      depth.set(edge.targetNodeID, from + 1);
      changed = true;
    }
    if (!changed) break;
  }
  return depth;
}

/**
 * Closes every empty band wider than `maxGap` along one axis: each box moves back by the empty space
 * before it, so order, alignment and rows are the editor's, and no two boxes can come to overlap.
 */
function closeGaps(boxes: Box[], axis: 'x' | 'y', maxGap: number): void {
  const size = axis === 'x' ? 'w' : 'h';
  const sorted = boxes.slice().sort((a, b) => a[axis] - b[axis]);
  let reach = Number.NEGATIVE_INFINITY;
  let shift = 0;
  for (const box of sorted) {
    const start = box[axis];
    if (reach !== Number.NEGATIVE_INFINITY && start - reach > maxGap) shift += start - reach - maxGap;
    reach = Math.max(reach, start + box[size]);
    box[axis] = start - shift;
  }
}

function overlapping(boxes: Box[]): boolean {
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) return true;
    }
  }
  return false;
}

export function layoutLevel(nodes: SchemaNode[], edges: SchemaEdge[]): Level {
  const boxes: Box[] = nodes.map((node) => {
    if (!Array.isArray(node.blocks) || node.blocks.length === 0) return { node, x: 0, y: 0, w: NODE_W, h: NODE_H };
    const inner = layoutLevel(node.blocks, Array.isArray(node.edges) ? node.edges : []);
    return { node, x: 0, y: 0, w: Math.max(NODE_W, inner.width + 2 * PAD), h: HEADER + inner.height + PAD, inner };
  });
  for (const box of boxes) Object.assign(box, position(box.node) ?? {});
  // Editor positions that would draw boxes on top of each other (e.g. all at 0,0) are not used.
  const trusted = !overlapping(boxes.filter((box) => position(box.node)));
  const placed = trusted ? boxes.filter((box) => position(box.node)) : [];
  closeGaps(placed, 'x', MAX_GAP_X);
  closeGaps(placed, 'y', MAX_GAP_Y);
  const missing = boxes.filter((box) => !placed.includes(box));
  if (missing.length > 0) {
    // Below whatever the editor placed, columns by depth.
    const top = placed.length > 0 ? Math.max(...placed.map((box) => box.y + box.h)) + GAP_Y * 2 : 0;
    const left = placed.length > 0 ? Math.min(...placed.map((box) => box.x)) : 0;
    const depth = depths(nodes, edges);
    const columnY = new Map<number, number>();
    for (const box of missing) {
      const column = depth.get(box.node.id) ?? 0;
      const y = columnY.get(column) ?? top;
      box.x = left + column * (NODE_W + GAP_X);
      box.y = y;
      columnY.set(column, y + box.h + GAP_Y);
    }
  }
  // The drawing starts at 0,0 whatever the editor's origin (fit then frames the nodes, not empty space).
  const minX = boxes.length > 0 ? Math.min(...boxes.map((box) => box.x)) : 0;
  const minY = boxes.length > 0 ? Math.min(...boxes.map((box) => box.y)) : 0;
  for (const box of boxes) {
    box.x -= minX;
    box.y -= minY;
  }
  return {
    boxes,
    edges,
    width: Math.max(NODE_W, ...boxes.map((box) => box.x + box.w)),
    height: Math.max(NODE_H, ...boxes.map((box) => box.y + box.h)),
  };
}
