import type { Descendant } from 'slate';

/** A short document with marks, emoji and CJK, so the demo shows the
 * mapping at work; the browser tests rely on its first paragraph. */
export const initialValue: Descendant[] = [
  { type: 'paragraph', children: [{ text: 'this sentence need a fix' }] },
  { type: 'paragraph', children: [{ text: 'nib runs on your own ' }, { text: 'GPU', bold: true }, { text: ' 🌱, and nothing leaves the machine.' }] },
  { type: 'paragraph', children: [{ text: '日本語の文章も書けます。' }] },
  { type: 'paragraph', children: [{ text: 'Write here:' }] },
];
