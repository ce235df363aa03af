// The ghost-text element: an inline void element holding the suggestion in
// a property, rendered non-editable after the cursor. Being an element
// rather than a decoration, it never re-renders the text leaf the user is
// composing in, so IME composition is left alone; being void, its content
// is not text, so the mapping (and Node.string) skip it.
import { Editor, Element, Path, Text, Transforms, type Descendant, type NodeEntry, type Point } from 'slate';
import { GHOST_TYPE, isGhost } from '../mapping/slate-text';

export { GHOST_TYPE, isGhost };

export interface NibGhostElement {
  type: typeof GHOST_TYPE;
  suggestion: string;
  children: [{ text: '' }];
}

export function createGhost(suggestion: string): Element {
  const ghost: NibGhostElement = { type: GHOST_TYPE, suggestion, children: [{ text: '' }] };
  return ghost as unknown as Element;
}

export function ghostSuggestion(element: Element): string {
  const suggestion = (element as { suggestion?: unknown }).suggestion;
  return typeof suggestion === 'string' ? suggestion : '';
}

/** Every ghost in the document, first to last. */
export function findGhosts(editor: Editor): NodeEntry<Element>[] {
  return [...Editor.nodes<Element>(editor, { at: [], match: (n) => isGhost(n), voids: true })];
}

/** Where the cursor sits while a ghost shows: the end of the text leaf just
 * before it (Slate keeps a text leaf on each side of an inline). */
export function ghostAnchor(editor: Editor, ghostPath: Path): Point | undefined {
  if (ghostPath[ghostPath.length - 1] === 0) return undefined;
  const previous = Path.previous(ghostPath);
  const [node] = Editor.node(editor, previous);
  if (!Text.isText(node)) return undefined;
  return { path: previous, offset: node.text.length };
}

/** Inserts a ghost at `at` and puts the cursor right before it. */
export function insertGhost(editor: Editor, at: Point, suggestion: string): void {
  Transforms.insertNodes(editor, createGhost(suggestion), { at, select: false });
  const [entry] = findGhosts(editor);
  const anchor = entry && ghostAnchor(editor, entry[1]);
  if (anchor) Transforms.select(editor, anchor);
}

/** Changes the text of the ghost at `path` (a suggestion typed through or
 * still streaming). */
export function setGhostSuggestion(editor: Editor, path: Path, suggestion: string): void {
  Transforms.setNodes(editor, { suggestion } satisfies Partial<NibGhostElement> as never, { at: path, voids: true });
}

export function removeGhosts(editor: Editor): void {
  for (const [, path] of findGhosts(editor).reverse()) Transforms.removeNodes(editor, { at: path, voids: true });
}

/** A copy of `nodes` without ghosts, adjacent equal-mark leaves merged:
 * what an application stores, copies or sends anywhere. */
export function stripGhosts(nodes: readonly Descendant[]): Descendant[] {
  const result: Descendant[] = [];
  for (const node of nodes) {
    if (isGhost(node)) continue;
    if (Text.isText(node)) {
      const last = result[result.length - 1];
      if (last && Text.isText(last) && Text.equals(last, node, { loose: true })) {
        result[result.length - 1] = { ...last, text: last.text + node.text };
        continue;
      }
      result.push(node);
    } else {
      result.push({ ...node, children: stripGhosts(node.children) } as Descendant);
    }
  }
  return result;
}
