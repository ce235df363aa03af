import type { CSSProperties, JSX } from 'react';
import { useSlateStatic, type RenderElementProps } from 'slate-react';
import { ghostSuggestion, isGhost } from '../slate/ghost';
import type { NibEditor } from '../slate/with-nib';
import { useNibState } from './hooks';

const ghostStyle: CSSProperties = {
  color: 'var(--nib-ghost-color, #8a8f98)',
  whiteSpace: 'pre-wrap',
  userSelect: 'none',
  pointerEvents: 'none',
};

// Slate's mention example puts a void's children first on macOS, where IME
// composition next to an inline void otherwise misplaces the caret.
const childrenFirst = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/** The ghost text: the suggestion after the cursor, not editable, not
 * selectable, not part of the document text. While more of it is still
 * streaming in, it carries `data-nib-streaming`, for styles and tests. */
export function NibGhost({ attributes, children, element }: RenderElementProps): JSX.Element {
  const suggestion = ghostSuggestion(element);
  // While a request is in flight, the ghost showing is its answer so far.
  const streaming = useNibState(useSlateStatic() as ReturnType<typeof useSlateStatic> & NibEditor).completing;
  return (
    <span
      {...attributes}
      contentEditable={false}
      data-nib-ghost=""
      data-nib-streaming={streaming ? '' : undefined}
      aria-hidden="true"
      className="nib-ghost"
      style={ghostStyle}
    >
      {childrenFirst ? children : null}
      {suggestion}
      {childrenFirst ? null : children}
    </span>
  );
}

/** Renders the ghost element, or returns undefined for the app's renderer:
 * `renderElement={(props) => renderNibElement(props) ?? <MyElement {...props} />}`. */
export function renderNibElement(props: RenderElementProps): JSX.Element | undefined {
  return isGhost(props.element) ? <NibGhost {...props} /> : undefined;
}
