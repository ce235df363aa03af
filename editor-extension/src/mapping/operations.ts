// Slate operations as incremental didChange events. Each operation is
// translated against the tree as it was just before the operation, so the
// events of a sequence apply one after another exactly as the LSP says.
// Translating the operation (rather than diffing whole texts) keeps each
// keystroke's cost proportional to the path, not to the document.
import { Element, Text, type Descendant, type Operation, type Path } from 'slate';
import type { Position, TextDocumentContentChangeEvent } from '../protocol';
import { minimalEdit } from './plain-text';
import {
  charactersBefore,
  childrenMakeLine,
  documentLines,
  inlineText,
  isGhost,
  isLineBlock,
  lineContaining,
  linesBefore,
  linesOf,
  nodeAt,
  type Root,
  type TextSchema,
} from './slate-text';

/**
 * The changes that `op` makes to the daemon's text of `root` (the tree
 * before `op`). Returns null for an operation whose effect is not local
 * (move_node, or one that turns a line into a container or back); the
 * caller then diffs the texts before and after, see diffChanges.
 */
export function changesForOperation(root: Root, op: Operation, schema: TextSchema): TextDocumentContentChangeEvent[] | null {
  switch (op.type) {
    case 'set_selection':
      return [];
    case 'insert_text':
    case 'remove_text':
      return textChange(root, op.path, op.offset, op.type === 'insert_text' ? op.text : '', op.type === 'remove_text' ? op.text.length : 0, schema);
    case 'insert_node':
      return insertNode(root, op.path, op.node as Descendant, schema);
    case 'remove_node':
      return removeNode(root, op.path, op.node as Descendant, schema);
    case 'split_node':
      return splitNode(root, op.path, op.position, schema);
    case 'merge_node':
      return mergeNode(root, op.path, schema);
    case 'set_node':
      return setNode(root, op.path, op.newProperties as Record<string, unknown>, schema);
    case 'move_node':
      return null;
  }
}

/** One change turning `before` into `after`, or none: the fallback for
 * operations that changesForOperation cannot translate locally. */
export function diffChanges(before: string, after: string): TextDocumentContentChangeEvent[] {
  const edit = minimalEdit(before, after);
  return edit ? [{ range: edit.range, text: edit.newText }] : [];
}

function change(start: Position, end: Position, text: string): TextDocumentContentChangeEvent[] {
  if (text === '' && start.line === end.line && start.character === end.character) return [];
  return [{ range: { start, end }, text }];
}

function textChange(root: Root, path: Path, offset: number, inserted: string, removed: number, schema: TextSchema) {
  const line = lineContaining(root, path, schema);
  if (!line) return null;
  const { character, inGhost } = charactersBefore(line, path);
  if (inGhost) return [];
  const start = { line: line.index, character: character + offset };
  return change(start, { line: line.index, character: start.character + removed }, inserted);
}

/** Where a slot inside a line lies, or undefined when the slot is at block
 * level. `inGhost` slots contribute nothing. */
function inlineSlot(root: Root, path: Path, schema: TextSchema) {
  const line = lineContaining(root, path.slice(0, -1), schema);
  if (!line) return undefined;
  const { character, inGhost } = charactersBefore(line, path);
  return { position: { line: line.index, character }, inGhost };
}

function parentChildren(root: Root, path: Path): readonly Descendant[] | undefined {
  if (path.length === 1) return root.children;
  const parent = nodeAt(root, path.slice(0, -1));
  return parent && Element.isElement(parent) ? parent.children : undefined;
}

/** Whether the element at `parentPath` keeps its role (line or container)
 * when its children become `after`. The root is always a container. */
function parentKeepsRole(root: Root, parentPath: Path, after: readonly Descendant[], schema: TextSchema): boolean {
  if (parentPath.length === 0) return true;
  const parent = nodeAt(root, parentPath);
  if (!parent || !Element.isElement(parent)) return false;
  return childrenMakeLine(parent.children, schema) === childrenMakeLine(after, schema);
}

function insertNode(root: Root, path: Path, node: Descendant, schema: TextSchema) {
  const siblings = parentChildren(root, path);
  if (!siblings) return null;
  const after = [...siblings.slice(0, path[path.length - 1]), node, ...siblings.slice(path[path.length - 1])];
  if (!parentKeepsRole(root, path.slice(0, -1), after, schema)) return null;
  const slot = inlineSlot(root, path, schema);
  if (slot) {
    if (Element.isElement(node) && !schema.isInline(node)) return null;
    if (slot.inGhost) return [];
    return change(slot.position, slot.position, inlineText(node));
  }
  if (!Element.isElement(node)) return Text.isText(node) ? [] : null;
  const inserted = linesOf(node, schema);
  if (inserted.length === 0) return [];
  const lines = documentLines(root, schema);
  const k = linesBefore(root, path, schema);
  const text = inserted.join('\n');
  // Joining by "\n" puts the separator on the side that has a neighbour.
  if (k < lines.length) return change({ line: k, character: 0 }, { line: k, character: 0 }, text + '\n');
  if (lines.length > 0) {
    const end = { line: lines.length - 1, character: lines[lines.length - 1]!.length };
    return change(end, end, '\n' + text);
  }
  return change({ line: 0, character: 0 }, { line: 0, character: 0 }, text);
}

function removeNode(root: Root, path: Path, node: Descendant, schema: TextSchema) {
  const siblings = parentChildren(root, path);
  if (!siblings) return null;
  const index = path[path.length - 1]!;
  const after = [...siblings.slice(0, index), ...siblings.slice(index + 1)];
  if (!parentKeepsRole(root, path.slice(0, -1), after, schema)) return null;
  const slot = inlineSlot(root, path, schema);
  if (slot) {
    if (slot.inGhost) return [];
    const removed = inlineText(node);
    return change(slot.position, { line: slot.position.line, character: slot.position.character + removed.length }, '');
  }
  if (!Element.isElement(node)) return Text.isText(node) ? [] : null;
  const m = linesOf(node, schema).length;
  if (m === 0) return [];
  const lines = documentLines(root, schema);
  const first = linesBefore(root, path, schema);
  const last = first + m - 1;
  if (last + 1 < lines.length) return change({ line: first, character: 0 }, { line: last + 1, character: 0 }, '');
  if (first > 0) {
    return change({ line: first - 1, character: lines[first - 1]!.length }, { line: last, character: lines[last]!.length }, '');
  }
  return change({ line: 0, character: 0 }, { line: last, character: lines[last]!.length }, '');
}

function splitNode(root: Root, path: Path, position: number, schema: TextSchema) {
  const node = nodeAt(root, path);
  if (!node) return null;
  if (Text.isText(node) || schema.isInline(node)) return [];
  const head = node.children.slice(0, position);
  const tail = node.children.slice(position);
  const wasLine = isLineBlock(node, schema);
  if (childrenMakeLine(head, schema) !== wasLine || childrenMakeLine(tail, schema) !== wasLine) return null;
  if (!wasLine) return [];
  const line = lineContaining(root, path, schema);
  if (!line) return null;
  let character = 0;
  for (const child of head) character += inlineText(child).length;
  const at = { line: line.index, character };
  return change(at, at, '\n');
}

function mergeNode(root: Root, path: Path, schema: TextSchema) {
  const index = path[path.length - 1]!;
  if (index === 0) return null;
  const node = nodeAt(root, path);
  const prevPath = [...path.slice(0, -1), index - 1];
  const prev = nodeAt(root, prevPath);
  if (!node || !prev) return null;
  if (Text.isText(node) || Text.isText(prev)) return Text.isText(node) && Text.isText(prev) ? [] : null;
  if (schema.isInline(node) || schema.isInline(prev)) return schema.isInline(node) && schema.isInline(prev) ? [] : null;
  const nodeIsLine = isLineBlock(node, schema);
  const prevIsLine = isLineBlock(prev, schema);
  const mergedIsLine = childrenMakeLine([...prev.children, ...node.children], schema);
  if (nodeIsLine !== prevIsLine || mergedIsLine !== prevIsLine) return null;
  if (!nodeIsLine) return [];
  const line = lineContaining(root, path, schema);
  const prevLine = lineContaining(root, prevPath, schema);
  if (!line || !prevLine || prevLine.index !== line.index - 1) return null;
  return change({ line: prevLine.index, character: inlineText(prev).length }, { line: line.index, character: 0 }, '');
}

function setNode(root: Root, path: Path, newProperties: Record<string, unknown>, schema: TextSchema) {
  const node = nodeAt(root, path);
  if (!node) return null;
  if (Text.isText(node)) return [];
  // New properties (a type, say) may make the element a ghost or an inline,
  // or stop it being one; then its text moves, and a diff is simplest.
  const updated = { ...node, ...newProperties } as Element;
  for (const key of Object.keys(newProperties)) if (newProperties[key] == null) delete (updated as unknown as Record<string, unknown>)[key];
  if (isGhost(node) !== isGhost(updated) || schema.isInline(node) !== schema.isInline(updated)) return null;
  return [];
}
