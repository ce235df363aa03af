import { useEffect, useMemo, useState, type JSX, type KeyboardEvent } from 'react';
import { createEditor, Editor, Node, type Descendant } from 'slate';
import { withHistory } from 'slate-history';
import { Editable, Slate, withReact, type RenderElementProps, type RenderLeafProps } from 'slate-react';
import {
  CheckPopover,
  NibCheckMark,
  renderNibElement,
  RewriteButton,
  RewritePanel,
  rewriteTargetMark,
  useNibEditable,
  useNibState,
  withNib,
  type NibClient,
} from '../src/index';
import { ErrorBoundary } from './ErrorBoundary';
import { initialValue } from './initial-value';
import { useModelState } from './model-state';

interface LogEntry {
  level: 'error' | 'warning' | 'info';
  text: string;
}

const levels = { 1: 'error', 2: 'warning', 3: 'info', 4: 'info' } as const;

/** The page's link to nib: up, lost (with what happened), or being made again. */
type Connection = { state: 'connected' } | { state: 'lost'; message: string } | { state: 'reconnecting' };

export interface AppProps {
  /** A client on which initialize has succeeded. */
  client: NibClient;
  /** Makes a new initialized client after the connection was lost: through
   * the bridge, which starts a new daemon if its own stopped, or a new
   * in-page engine. */
  reconnect: () => Promise<NibClient>;
}

export function App({ client: firstClient, reconnect }: AppProps): JSX.Element {
  const [log, setLog] = useState<LogEntry[]>([]);
  const addLog = (entry: LogEntry) => setLog((entries) => [...entries.slice(-50), entry]);
  const [client, setClient] = useState(firstClient);
  const [connection, setConnection] = useState<Connection>({ state: 'connected' });
  // Checking is the daemon's setting; the demo shows it on.
  const [checking, setChecking] = useState(true);
  // One editor for the page's life: a reconnect hands it the new client, so
  // the document and its undo history survive the daemon.
  const editor = useMemo(() => {
    // A URI of its own per page load, so two tabs never share a document.
    const uri = `untitled:nib-demo-${crypto.randomUUID()}`;
    const e = withNib(withHistory(withReact(createEditor())), firstClient, {
      uri,
      debounceMs: 200,
      onError: (text) => addLog({ level: 'error', text }),
    });
    e.children = initialValue;
    return e;
  }, [firstClient]);
  const [saved, setSaved] = useState(() => savedText(editor.nib.value()));
  const nib = useNibEditable(editor);
  const state = useNibState(editor);
  const model = useModelState(client);

  useEffect(() => {
    editor.nib.open(client);
    const messages = client.onMessage((params, kind) => {
      if (kind === 'show' || params.type <= 2) addLog({ level: levels[params.type], text: params.message });
    });
    const lost = () => {
      editor.nib.close();
      setConnection({ state: 'lost', message: `Lost nib: ${(client.closeReason ?? 'the connection closed').replace(/^nib: /, '')}.` });
    };
    const closed = client.onClose(lost);
    if (client.isClosed) lost();
    return () => {
      messages.dispose();
      closed.dispose();
      editor.nib.close();
    };
  }, [editor, client]);

  // Sent again to a new client: a restarted daemon starts from its own
  // settings.
  useEffect(() => {
    client.didChangeConfiguration({ check: { enabled: checking } }).catch(() => {});
  }, [client, checking]);

  const onReconnect = async () => {
    setConnection({ state: 'reconnecting' });
    try {
      setClient(await reconnect());
      setConnection({ state: 'connected' });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      setConnection({ state: 'lost', message: `Reconnecting failed (${why}). If \`npm run demo\` has stopped, start it again and open the URL it prints.` });
    }
  };

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
      {connection.state === 'connected' ? null : (
        <div className="connection" role="alert" data-testid="connection" data-state={connection.state}>
          <span data-testid="connection-message">
            {connection.state === 'reconnecting' ? 'Reconnecting to nib…' : `${connection.message} The document stays here and keeps what you type.`}
          </span>
          <button type="button" data-testid="reconnect" disabled={connection.state === 'reconnecting'} onClick={() => void onReconnect()}>
            Reconnect
          </button>
        </div>
      )}
      <ErrorBoundary
        fallback={(error, reset) => (
          <div className="fatal" role="alert" data-testid="editor-error">
            The editor hit an error: {error.message}. The document is kept.{' '}
            <button type="button" onClick={reset}>
              Show the editor again
            </button>
          </div>
        )}
      >
        {/* Mounting again after an error starts from the editor's current
            value, not the initial one. */}
        <Slate editor={editor} initialValue={editor.children} onValueChange={(value) => setSaved(savedText(editor.nib.value(), value))}>
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
            <label className="toggle">
              <input type="checkbox" data-testid="check-toggle" checked={checking} onChange={(e) => setChecking(e.target.checked)} />
              Check grammar and spelling
            </label>
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
          <CheckPopover editor={editor} />
        </Slate>
      </ErrorBoundary>
      <p className="hint">
        Tab accepts the grey suggestion, Esc dismisses it, Ctrl/Cmd+→ takes one word. Select text and press Rewrite (Ctrl/Cmd+Shift+E).
        Point at an underlined word for its correction.
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
      <NibCheckMark leaf={leaf}>{content}</NibCheckMark>
    </span>
  );
}
