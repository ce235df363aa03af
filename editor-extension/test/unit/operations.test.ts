import { Editor, Element, Node, Path, Range, Text, Transforms, type Descendant, type Point } from 'slate';
import { HistoryEditor } from 'slate-history';
import { describe, expect, it } from 'vitest';
import { applyContentChanges } from '../../src/mapping/plain-text';
import { documentText } from '../../src/mapping/slate-text';
import { ghost, link, p, props, quote, richDocument, schemaEditor, t } from '../helpers/slate-docs';
import { trackChanges } from '../helpers/track-changes';

/** Runs `edit` and checks that the recorded changes, applied to the text
 * before, give the text after. Returns the changes for closer checks. */
function expectReplay(editor: Editor, edit: () => void) {
  const tracker = trackChanges(editor);
  const before = documentText(editor, editor);
  edit();
  const changes = tracker.take();
  expect(applyContentChanges(before, changes)).toBe(documentText(editor, editor));
  return { changes, fallbacks: tracker.fallbacks };
}

describe('changesForOperation: single transforms', () => {
  it('insert_text becomes an insertion at the UTF-16 position', () => {
    const editor = schemaEditor(richDocument());
    const { changes, fallbacks } = expectReplay(editor, () => Transforms.insertText(editor, '🙂x', { at: { path: [0, 2], offset: 0 } }));
    expect(changes).toEqual([{ range: { start: { line: 0, character: 13 }, end: { line: 0, character: 13 } }, text: '🙂x' }]);
    expect(fallbacks).toEqual([]);
  });

  it('remove_text spans the removed code units', () => {
    const editor = schemaEditor(richDocument());
    const { changes } = expectReplay(editor, () =>
      Transforms.delete(editor, { at: { anchor: { path: [1, 0], offset: 9 }, focus: { path: [1, 0], offset: 11 } } }),
    );
    expect(changes).toEqual([{ range: { start: { line: 1, character: 9 }, end: { line: 1, character: 11 } }, text: '' }]);
  });

  it('split_node of a paragraph inserts "\\n"; of a leaf, nothing', () => {
    const editor = schemaEditor(richDocument());
    const { changes } = expectReplay(editor, () => {
      Transforms.select(editor, { path: [0, 1], offset: 2 });
      editor.insertBreak();
    });
    expect(changes).toEqual([{ range: { start: { line: 0, character: 8 }, end: { line: 0, character: 8 } }, text: '\n' }]);
  });

  it('merge_node of two paragraphs removes the "\\n" between them', () => {
    const editor = schemaEditor(richDocument());
    const { changes } = expectReplay(editor, () => {
      Transforms.select(editor, { path: [1, 0], offset: 0 });
      editor.deleteBackward('character');
    });
    expect(changes).toEqual([{ range: { start: { line: 0, character: 19 }, end: { line: 1, character: 0 } }, text: '' }]);
  });

  it('insert_node and remove_node of blocks add and drop whole lines', () => {
    const editor = schemaEditor(richDocument());
    const inserted = expectReplay(editor, () => Transforms.insertNodes(editor, p(t('new 🆕 line')), { at: [1] }));
    expect(inserted.changes).toEqual([{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, text: 'new 🆕 line\n' }]);
    const appended = expectReplay(editor, () => Transforms.insertNodes(editor, quote(p(t('q1')), p(t('q2'))), { at: [editor.children.length] }));
    expect(appended.changes).toEqual([{ range: { start: { line: 6, character: 11 }, end: { line: 6, character: 11 } }, text: '\nq1\nq2' }]);
    const removed = expectReplay(editor, () => Transforms.removeNodes(editor, { at: [3] }));
    expect(removed.changes).toEqual([{ range: { start: { line: 3, character: 0 }, end: { line: 5, character: 0 } }, text: '' }]);
    const removedLast = expectReplay(editor, () => Transforms.removeNodes(editor, { at: [editor.children.length - 1] }));
    expect(removedLast.changes).toEqual([{ range: { start: { line: 4, character: 11 }, end: { line: 6, character: 2 } }, text: '' }]);
  });

  it('marks only split leaves, so they change nothing', () => {
    const editor = schemaEditor(richDocument());
    const { changes, fallbacks } = expectReplay(editor, () => {
      Transforms.select(editor, { anchor: { path: [0, 0], offset: 2 }, focus: { path: [1, 0], offset: 3 } });
      editor.addMark('underline', true);
      editor.removeMark('bold');
    });
    expect(changes).toEqual([]);
    expect(fallbacks).toEqual([]);
  });

  it('inserting and removing a ghost changes nothing', () => {
    const editor = schemaEditor(richDocument());
    const { changes } = expectReplay(editor, () => {
      Transforms.insertNodes(editor, ghost('a suggestion 😀'), { at: { path: [0, 2], offset: 3 } });
      Transforms.insertText(editor, 'inside', { at: { path: [0, 3, 0], offset: 0 } });
      Transforms.removeNodes(editor, { at: [0, 3], voids: true });
    });
    expect(changes).toEqual([]);
    expect(documentText(editor, editor).split('\n')[0]).toBe('Hello bold 😀 world');
  });

  it('deleting across paragraphs, quotes and a link gives one consistent edit sequence', () => {
    const editor = schemaEditor(richDocument());
    const { fallbacks } = expectReplay(editor, () =>
      Transforms.delete(editor, { at: { anchor: { path: [0, 1], offset: 3 }, focus: { path: [2, 1, 1, 0], offset: 2 } } }),
    );
    expect(documentText(editor, editor).split('\n')[0]).toBe('Hello bolnk 🔗 after');
    // Cross-block deletes remove and merge nodes; moves are the only diff.
    expect(fallbacks.filter((type) => type !== 'move_node')).toEqual([]);
  });

  it('wrapping and unwrapping paragraphs in a quote keeps the text', () => {
    const editor = schemaEditor(richDocument());
    const original = documentText(editor, editor);
    expectReplay(editor, () => {
      Transforms.wrapNodes(editor, { type: 'quote', children: [] } as unknown as Element, { at: { anchor: { path: [0, 0], offset: 0 }, focus: { path: [1, 0], offset: 1 } } });
      Transforms.unwrapNodes(editor, { at: [0], match: (n) => (n as { type?: string }).type === 'quote', split: true });
    });
    expect(documentText(editor, editor)).toBe(original);
  });

  it('undo and redo replay exactly', () => {
    const editor = schemaEditor(richDocument());
    const original = documentText(editor, editor);
    expectReplay(editor, () => {
      Transforms.select(editor, { path: [1, 0], offset: 4 });
      editor.insertText('ABC');
      editor.insertBreak();
      Transforms.delete(editor, { at: { anchor: { path: [0, 0], offset: 1 }, focus: { path: [2, 0], offset: 2 } } });
    });
    const undone = expectReplay(editor, () => {
      while (editor.history.undos.length > 0) HistoryEditor.undo(editor);
    });
    expect(documentText(editor, editor)).toBe(original);
    expect(undone.changes.length).toBeGreaterThan(0);
    expectReplay(editor, () => HistoryEditor.redo(editor));
  });

  it('setting a type that makes an element inline falls back to a diff', () => {
    const editor = schemaEditor([p(t('a')), p(t('b'))]);
    const { fallbacks } = expectReplay(editor, () => {
      Editor.withoutNormalizing(editor, () => Transforms.setNodes(editor, props({ type: 'link' }), { at: [1] }));
    });
    expect(fallbacks).toEqual(['set_node']);
  });
});

// A deterministic PRNG, so a failing sequence can be replayed from its seed.
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const snippets = ['a', 'hello', ' ', '😀', '👩‍👩‍👧', '日本', '𠀋', 'é', 'x y', '🔗z'];

function randomPoint(editor: Editor, rand: () => number): Point {
  const texts = [...Node.texts(editor)].filter(([, path]) => !insideGhost(editor, path));
  const [node, path] = texts[Math.floor(rand() * texts.length)]!;
  return { path, offset: Math.floor(rand() * (node.text.length + 1)) };
}

function insideGhost(editor: Editor, path: Path): boolean {
  return [...Node.ancestors(editor, path)].some(([n]) => Element.isElement(n) && (n as { type?: string }).type === 'nib-ghost');
}

function randomBlockPath(editor: Editor, rand: () => number): Path {
  const blocks = [...Node.elements(editor)].filter(([n]) => !editor.isInline(n)).map(([, path]) => path);
  return blocks[Math.floor(rand() * blocks.length)]!;
}

const actions: ((editor: Editor, rand: () => number) => void)[] = [
  (e, r) => Transforms.insertText(e, snippets[Math.floor(r() * snippets.length)]!, { at: randomPoint(e, r) }),
  (e, r) => {
    const a = randomPoint(e, r);
    const b = randomPoint(e, r);
    Transforms.delete(e, { at: { anchor: a, focus: b } });
  },
  (e, r) => {
    Transforms.select(e, randomPoint(e, r));
    e.insertBreak();
  },
  (e, r) => {
    Transforms.select(e, randomPoint(e, r));
    e.deleteBackward('character');
  },
  (e, r) => {
    Transforms.select(e, randomPoint(e, r));
    e.deleteForward('character');
  },
  (e, r) => Transforms.insertNodes(e, p(t(snippets[Math.floor(r() * snippets.length)]!)), { at: [Math.floor(r() * (e.children.length + 1))] }),
  (e, r) => {
    if (e.children.length > 1) Transforms.removeNodes(e, { at: [Math.floor(r() * e.children.length)] });
  },
  (e, r) => {
    if (e.children.length > 1) Transforms.moveNodes(e, { at: [Math.floor(r() * e.children.length)], to: [Math.floor(r() * e.children.length)] });
  },
  (e, r) => {
    const a = randomPoint(e, r);
    const b = randomPoint(e, r);
    Transforms.select(e, { anchor: a, focus: b });
    if (r() < 0.5) e.addMark('bold', true);
    else e.removeMark('bold');
  },
  (e, r) => {
    const at = randomBlockPath(e, r);
    Transforms.wrapNodes(e, { type: 'quote', children: [] } as unknown as Element, { at });
  },
  (e, r) => {
    const at = randomBlockPath(e, r);
    if ((Node.get(e, at) as { type?: string }).type === 'quote') Transforms.unwrapNodes(e, { at });
  },
  (e, r) => Transforms.insertNodes(e, r() < 0.5 ? link(snippets[Math.floor(r() * snippets.length)]!) : ghost('ghost 😀 text'), { at: randomPoint(e, r) }),
  (e) => {
    for (const [, path] of [...Node.elements(e)].reverse()) {
      if ((Node.get(e, path) as { type?: string }).type === 'nib-ghost') Transforms.removeNodes(e, { at: path, voids: true });
    }
  },
  (e, r) => Transforms.setNodes(e, props({ type: r() < 0.5 ? 'heading' : 'paragraph' }), { at: randomBlockPath(e, r) }),
  (e, r) => {
    Transforms.select(e, randomPoint(e, r));
    Transforms.insertFragment(e, [p(t('frag 😀')), p(t('ment'), link('L')), p(t('end'))] as Descendant[]);
  },
  (e, r) => {
    Transforms.select(e, randomPoint(e, r));
    const [block] = Editor.nodes(e, { match: (n) => Element.isElement(n) && !e.isInline(n) && Editor.hasInlines(e, n) });
    if (block) Transforms.splitNodes(e, { always: true });
  },
  (e) => HistoryEditor.undo(e as HistoryEditor),
  (e) => HistoryEditor.redo(e as HistoryEditor),
];

describe('changesForOperation: random edit sequences', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}: replaying the changes on a string gives the document text`, () => {
      const rand = mulberry32(seed);
      const editor = schemaEditor(richDocument());
      const tracker = trackChanges(editor);
      let shadow = documentText(editor, editor);
      for (let step = 0; step < 60; step++) {
        const action = actions[Math.floor(rand() * actions.length)]!;
        action(editor, rand);
        shadow = applyContentChanges(shadow, tracker.take());
        expect(shadow, `seed ${seed}, step ${step}`).toBe(documentText(editor, editor));
        expect(Range.isRange(editor.selection) || editor.selection === null).toBe(true);
      }
      // Most operations translate locally; diffs are for moves and rare role changes.
      const nonMove = tracker.fallbacks.filter((type) => type !== 'move_node');
      expect(nonMove.length).toBeLessThanOrEqual(6);
      expect([...Node.texts(editor)].every(([n]) => Text.isText(n))).toBe(true);
    });
  }
});
