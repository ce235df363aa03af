// What the plugin's unit tests share: an opened plugin editor over a fake
// client, a wait for Slate's onChange, and the invariants every test ends on.
import type { Descendant } from 'slate';
import { expect } from 'vitest';
import type { NibOptions } from '../../src/slate/types';
import { withNib } from '../../src/slate/with-nib';
import { FakeClient } from './fake-client';
import { schemaEditor } from './slate-docs';

/** A plugin editor over `children` and its fake client, document opened. */
export function pluginEditor(children: Descendant[], options: NibOptions) {
  const fake = new FakeClient();
  const editor = withNib(schemaEditor(children), fake, options);
  editor.nib.open();
  return { editor, fake };
}

/** Lets Slate's onChange (a microtask after the operations) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
}

/** Whatever a test did, the daemon's copy must equal the editor's text, the
 * fake must have refused no change, and no flush may have needed the
 * whole-text fallback. */
export function expectInSync(editor: ReturnType<typeof pluginEditor>['editor'], fake: FakeClient): void {
  expect(fake.errors).toEqual([]);
  expect(fake.text).toBe(editor.nib.text());
  expect(editor.nib.getState().resyncs).toBe(0);
}
