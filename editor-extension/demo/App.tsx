import { useEffect, useMemo, useState, type JSX, type KeyboardEvent } from 'react';
import { createEditor, Editor, Node, type Descendant } from 'slate';
import { withHistory } from 'slate-history';
import { Editable, Slate, withReact, type RenderElementProps, type RenderLeafProps } from 'slate-react';
import { renderNibElement, RewriteButton, RewritePanel, rewriteTargetMark, useNibEditable, useNibState, withNib, type NibClient } from '../src/index';
import { initialValue } from './initial-value';
import { useModelState } from './model-state';

interface LogEntry {
  level: 'error' | 'warning' | 'info';
  text: string;
}

const levels = { 1: 'error', 2: 'warning', 3: 'info', 4: 'info' } as const;

export function App({ client }: { client: NibClient }): JSX.Element {
  const [log, setLog] = useState<LogEntry[]>([]);
  const addLog = (entry: LogEntry) => setLog((entries) => [...entries.slice(-50), entry]);
  const editor = useMemo(() => {
    // A URI of its own per page load, so two tabs never share a document.
    const uri = `untitled:nib-demo-${crypto.randomUUID()}`;
    const e = withNib(withHistory(withReact(createEditor())), client, {
      uri,
      debounceMs: 200,
      onError: (text) => addLog({ level: 'error', text }),
    });
    e.children = initialValue;
    return e;
  }, [client]);
  const [saved, setSaved] = useState(() => savedText(editor.nib.value()));
  const nib = useNibEditable(editor);
  const state = useNibState(editor);
  const model = useModelState(client);

  useEffect(() => {
    editor.nib.open();
    const messages = client.onMessage((params, kind) => {
      if (kind === 'show' || params.type <= 2) addLog({ level: levels[params.type], text: params.message });
    });
    return () => {
      messages.dispose();
      editor.nib.close();
    };
  }, [editor, client]);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    nib.onKeyDown(event);
    if (event.defaultPrevented || !(event.ctrlKey || event.metaKey)) return;
    const mark = event.key === 'b' ? 'bold' : event.key === 'i' ? 'italic' : undefined;
    if (mark) {
      event.preventDefault();
      toggleMark(editor, mark);
    }
  };

  return (
    <main className="demo">
      <header>
        <h1>nib</h1>
        <span className="status" data-testid="status" data-model-state={model.state}>
          model: {model.label}
        </span>
        <span className="status" data-testid="sync" data-version={state.version} data-resyncs={state.resyncs}>
          document v{state.version}
          {state.completing ? ' · thinking…' : ''}
        </span>
      </header>
      <Slate editor={editor} initialValue={initialValue} onValueChange={(value) => setSaved(savedText(editor.nib.value(), value))}>
        <div className="toolbar" role="toolbar">
          <button type="button" onMouseDown={(e) => e.preventDefault()} onClick={() => toggleMark(editor, 'bold')}>
            <b>B</b>
          </button>
          <button type="button" onMouseDown={(e) => e.preventDefault()} onClick={() => toggleMark(editor, 'italic')}>
            <i>I</i>
          </button>
          <RewriteButton editor={editor} />
          <button type="button" data-testid="undo" onMouseDown={(e) => e.preventDefault()} onClick={() => editor.undo()}>
            Undo
          </button>
          <button type="button" onMouseDown={(e) => e.preventDefault()} onClick={() => editor.redo()}>
            Redo
          </button>
        </div>
        <Editable
          className="editor"
          data-testid="editor"
          spellCheck={false}
          autoFocus
          renderElement={renderElement}
          renderLeaf={renderLeaf}
          decorate={nib.decorate}
          onKeyDown={onKeyDown}
          onCompositionStart={nib.onCompositionStart}
          onCompositionEnd={nib.onCompositionEnd}
          onBlur={nib.onBlur}
        />
        <RewritePanel editor={editor} />
      </Slate>
      <p className="hint">
        Tab accepts the grey suggestion, Esc dismisses it, Ctrl/Cmd+→ takes one word. Select text and press Rewrite (Ctrl/Cmd+Shift+E).
      </p>
      <section>
        <h2>Saved document</h2>
        <pre data-testid="saved">{saved}</pre>
      </section>
      <section>
        <h2>Messages</h2>
        <ul data-testid="messages">
          {log.map((entry, i) => (
            <li key={i} data-level={entry.level}>
              {entry.text}
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}

/** What an application would store: the value without the ghost. */
function savedText(value: Descendant[], _trigger?: unknown): string {
  return value.map((node) => Node.string(node)).join('\n');
}

function toggleMark(editor: Editor, mark: 'bold' | 'italic') {
  const marks = Editor.marks(editor);
  if (marks?.[mark]) Editor.removeMark(editor, mark);
  else Editor.addMark(editor, mark, true);
}

function renderElement(props: RenderElementProps): JSX.Element {
  return renderNibElement(props) ?? <p {...props.attributes}>{props.children}</p>;
}

function renderLeaf({ attributes, children, leaf }: RenderLeafProps): JSX.Element {
  let content = children;
  if (leaf.bold) content = <strong>{content}</strong>;
  if (leaf.italic) content = <em>{content}</em>;
  const target = (leaf as unknown as Record<string, unknown>)[rewriteTargetMark] === true;
  return (
    <span {...attributes} className={target ? 'nib-rewrite-target' : undefined}>
      {content}
    </span>
  );
}
