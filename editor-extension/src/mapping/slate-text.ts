// Slate side of the mapping. The daemon sees a plain-text document: the
// text of every "line block" in document order, joined by "\n". A line
// block is a block element holding text and inline elements (a paragraph,
// a heading, a list item's paragraph); blocks holding other blocks (a
// quote, a list) are containers and add no text of their own. Marks only
// split leaves, so they never show. The ghost-text element is skipped, so
// a suggestion is never part of the daemon's text. Slate offsets count
// UTF-16 code units, the negotiated position encoding, so characters need
// no conversion: a line's character is a sum of leaf lengths.
import { Element, Text, type Descendant, type Path, type Point } from 'slate';
import type { Position } from '../protocol';

/** The `type` of the ghost-text element (see slate/ghost.ts). */
export const GHOST_TYPE = 'nib-ghost';

/** What the mapping needs to know of the editor's schema. */
export interface TextSchema {
  isInline(element: Element): boolean;
}

/** The editor, or any tree with children (a snapshot of editor.children). */
export interface Root {
  children: Descendant[];
}

export function isGhost(node: unknown): boolean {
  return Element.isElement(node) && (node as { type?: unknown }).type === GHOST_TYPE;
}

/** Whether an element with these children is a line block: no children (Slate
 * will give it an empty text), or a text or inline element first (Slate
 * keeps an element's children all inline or all blocks). */
export function childrenMakeLine(children: readonly Descendant[], schema: TextSchema): boolean {
  const first = children[0];
  return first === undefined || Text.isText(first) || (Element.isElement(first) && schema.isInline(first));
}

export function isLineBlock(node: Descendant, schema: TextSchema): boolean {
  return Element.isElement(node) && !schema.isInline(node) && childrenMakeLine(node.children, schema);
}

/** The text a node inside a line contributes: its leaves, minus ghosts. */
export function inlineText(node: Descendant): string {
  if (Text.isText(node)) return node.text;
  if (isGhost(node)) return '';
  let text = '';
  for (const child of node.children) text += inlineText(child);
  return text;
}

/** The lines of a block-level node, in order. */
export function linesOf(node: Descendant, schema: TextSchema): string[] {
  if (!Element.isElement(node)) return [];
  if (isLineBlock(node, schema)) return [inlineText(node)];
  return node.children.flatMap((child) => linesOf(child, schema));
}

export function countLines(node: Descendant, schema: TextSchema): number {
  if (!Element.isElement(node)) return 0;
  if (isLineBlock(node, schema)) return 1;
  let count = 0;
  for (const child of node.children) count += countLines(child, schema);
  return count;
}

/** The daemon's text of the whole tree. */
export function documentText(root: Root, schema: TextSchema): string {
  return documentLines(root, schema).join('\n');
}

export function documentLines(root: Root, schema: TextSchema): string[] {
  return root.children.flatMap((child) => linesOf(child, schema));
}

/** Paths of all line blocks, in document order. */
export function linePaths(root: Root, schema: TextSchema): Path[] {
  const paths: Path[] = [];
  const visit = (children: readonly Descendant[], base: Path) => {
    children.forEach((child, i) => {
      if (!Element.isElement(child)) return;
      const path = [...base, i];
      if (isLineBlock(child, schema)) paths.push(path);
      else visit(child.children, path);
    });
  };
  visit(root.children, []);
  return paths;
}

export function nodeAt(root: Root, path: Path): Descendant | undefined {
  let children: readonly Descendant[] = root.children;
  let node: Descendant | undefined;
  for (const index of path) {
    node = children[index];
    if (node === undefined) return undefined;
    children = Element.isElement(node) ? node.children : [];
  }
  return node;
}

/** Number of lines before the slot `path` at block level: lines in earlier
 * siblings of the slot and of each of its ancestors. */
export function linesBefore(root: Root, path: Path, schema: TextSchema): number {
  let count = 0;
  let children: readonly Descendant[] = root.children;
  for (const index of path) {
    for (let i = 0; i < index && i < children.length; i++) count += countLines(children[i]!, schema);
    const node = children[index];
    if (!node || !Element.isElement(node)) break;
    children = node.children;
  }
  return count;
}

export interface LineLocation {
  /** The line's number in the daemon's document. */
  index: number;
  path: Path;
  node: Element;
}

/** The line block that is `path` or contains it; undefined when `path` is
 * at block level (the root, a container, or a slot between blocks). */
export function lineContaining(root: Root, path: Path, schema: TextSchema): LineLocation | undefined {
  let children: readonly Descendant[] = root.children;
  let index = 0;
  for (let depth = 0; depth < path.length; depth++) {
    const at = path[depth]!;
    for (let i = 0; i < at && i < children.length; i++) index += countLines(children[i]!, schema);
    const node = children[at];
    if (!node || !Element.isElement(node)) return undefined;
    if (isLineBlock(node, schema)) return { index, path: path.slice(0, depth + 1), node };
    children = node.children;
  }
  return undefined;
}

/** Characters of a line before the slot `path` inside it, and whether the
 * slot lies inside a ghost (whose content has no characters at all). */
export function charactersBefore(line: LineLocation, path: Path): { character: number; inGhost: boolean } {
  let character = 0;
  let children: readonly Descendant[] = line.node.children;
  for (let depth = line.path.length; depth < path.length; depth++) {
    const at = path[depth]!;
    for (let i = 0; i < at && i < children.length; i++) character += inlineText(children[i]!).length;
    const node = children[at];
    if (depth === path.length - 1 || node === undefined) break;
    if (isGhost(node)) return { character, inGhost: true };
    if (!Element.isElement(node)) break;
    children = node.children;
  }
  return { character, inGhost: false };
}

/** The daemon's position of a Slate point. A point inside the ghost maps to
 * where the ghost sits. */
export function pointToPosition(root: Root, point: Point, schema: TextSchema): Position {
  const line = lineContaining(root, point.path, schema);
  if (!line) throw new RangeError(`nib: point ${JSON.stringify(point.path)} is not inside a line block`);
  const { character, inGhost } = charactersBefore(line, point.path);
  const node = nodeAt(root, point.path);
  if (inGhost || isGhost(node)) return { line: line.index, character };
  return { line: line.index, character: character + point.offset };
}

/** The Slate point of a daemon position. At a boundary between leaves the
 * earlier leaf wins by default (text typed there takes its marks, as Slate
 * does); 'forward' picks the later one (the start of a replaced span, whose
 * replacement should take the replaced text's marks). Ghosts are stepped
 * over; a position past a line's end clamps to it. */
export function positionToPoint(root: Root, position: Position, schema: TextSchema, affinity: 'backward' | 'forward' = 'backward'): Point {
  const paths = linePaths(root, schema);
  if (paths.length === 0) throw new RangeError('nib: the document has no line blocks');
  const linePath = paths[Math.min(Math.max(position.line, 0), paths.length - 1)]!;
  const line = nodeAt(root, linePath) as Element;
  let remaining = Math.max(position.character, 0);
  let last: Point | undefined;
  const visit = (children: readonly Descendant[], base: Path): Point | undefined => {
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      const path = [...base, i];
      if (Text.isText(child)) {
        const inside = affinity === 'forward' ? remaining < child.text.length : remaining <= child.text.length;
        if (inside) return { path, offset: remaining };
        remaining -= child.text.length;
        last = { path, offset: child.text.length };
      } else if (!isGhost(child)) {
        const found = visit(child.children, path);
        if (found) return found;
      }
    }
    return undefined;
  };
  const found = visit(line.children, linePath);
  if (found) return found;
  if (last) return last;
  // A line with no text leaves yet (Slate adds one when it normalizes).
  return { path: [...linePath, 0], offset: 0 };
}
