// Slate documents and editors for the mapping and plugin tests.
import { createEditor, type Descendant, type Editor, type Element } from 'slate';
import { withHistory, type HistoryEditor } from 'slate-history';
import { GHOST_TYPE } from '../../src/mapping/slate-text';

export function p(...children: Descendant[]): Element {
  return { type: 'paragraph', children } as unknown as Element;
}

export function quote(...children: Descendant[]): Element {
  return { type: 'quote', children } as unknown as Element;
}

export function link(text: string): Element {
  return { type: 'link', url: 'https://example.com', children: [{ text }] } as unknown as Element;
}

export function ghost(suggestion: string): Element {
  return { type: GHOST_TYPE, suggestion, children: [{ text: '' }] } as unknown as Element;
}

export function t(text: string, marks: Record<string, boolean> = {}): Descendant {
  return { text, ...marks } as Descendant;
}

/** An editor knowing links and ghosts as inline, ghosts as void. */
export function schemaEditor(children: Descendant[]): Editor & HistoryEditor {
  const editor = withHistory(createEditor());
  const isInline = editor.isInline;
  const isVoid = editor.isVoid;
  editor.isInline = (el) => {
    const type = (el as { type?: unknown }).type;
    return type === 'link' || type === GHOST_TYPE || isInline(el);
  };
  editor.isVoid = (el) => (el as { type?: unknown }).type === GHOST_TYPE || isVoid(el);
  editor.children = children;
  return editor;
}

/** A document with marks, emoji (surrogate pairs and ZWJ sequences), CJK
 * (BMP and a supplementary-plane ideograph), a link and a quote. */
export function richDocument(): Descendant[] {
  return [
    p(t('Hello '), t('bold 😀', { bold: true }), t(' world')),
    p(t('日本語のテキスト、𠀋も。')),
    quote(p(t('quoted 👩‍👩‍👧 family')), p(t('second '), link('link 🔗'), t(' after'))),
    p(t('')),
    p(t('last line ✨', { italic: true })),
  ];
}

/** Element properties for setNodes, outside the app's CustomTypes. */
export function props(properties: Record<string, unknown>): Partial<Element> {
  return properties as unknown as Partial<Element>;
}
