package server

// The protocol types nib uses: the subset of LSP 3.17/3.18 it speaks and
// its own methods, as PROTOCOL.md describes them.
// editor-extension/src/protocol.ts mirrors this file.

import (
	"encoding/json"

	"github.com/nib-editor/nib/server/internal/textdoc"
)

// Position and Range are LSP's, in the negotiated position encoding.
type (
	Position = textdoc.Position
	Range    = textdoc.Range
)

// Error codes (LSP and JSON-RPC).
const (
	codeParseError       = -32700
	codeInvalidRequest   = -32600
	codeMethodNotFound   = -32601
	codeInvalidParams    = -32602
	codeInternalError    = -32603
	codeNotInitialized   = -32002
	codeRequestCancelled = -32800
	codeContentModified  = -32801
	codeRequestFailed    = -32803
)

// ---- lifecycle ----

type initializeParams struct {
	ProcessID             *int               `json:"processId"`
	ClientInfo            *clientInfo        `json:"clientInfo,omitempty"`
	Capabilities          clientCapabilities `json:"capabilities"`
	InitializationOptions json.RawMessage    `json:"initializationOptions,omitempty"`
}

type clientInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type clientCapabilities struct {
	General *struct {
		PositionEncodings []string `json:"positionEncodings,omitempty"`
	} `json:"general,omitempty"`
	Window *struct {
		WorkDoneProgress bool `json:"workDoneProgress,omitempty"`
	} `json:"window,omitempty"`
	Workspace *struct {
		ApplyEdit     bool `json:"applyEdit,omitempty"`
		WorkspaceEdit *struct {
			DocumentChanges bool `json:"documentChanges,omitempty"`
		} `json:"workspaceEdit,omitempty"`
		Diagnostics *struct {
			RefreshSupport bool `json:"refreshSupport,omitempty"`
		} `json:"diagnostics,omitempty"`
	} `json:"workspace,omitempty"`
	TextDocument *struct {
		// Diagnostic, when present, says the client pulls diagnostics
		// (textDocument/diagnostic, LSP 3.17).
		Diagnostic *struct{} `json:"diagnostic,omitempty"`
	} `json:"textDocument,omitempty"`
}

// pullsDiagnostics reports whether the client pulls diagnostics.
func (c clientCapabilities) pullsDiagnostics() bool {
	return c.TextDocument != nil && c.TextDocument.Diagnostic != nil
}

// refreshesDiagnostics reports whether the client takes
// workspace/diagnostic/refresh.
func (c clientCapabilities) refreshesDiagnostics() bool {
	return c.Workspace != nil && c.Workspace.Diagnostics != nil && c.Workspace.Diagnostics.RefreshSupport
}

type initializeResult struct {
	Capabilities serverCapabilities `json:"capabilities"`
	ServerInfo   serverInfo         `json:"serverInfo"`
}

type serverInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type serverCapabilities struct {
	PositionEncoding         textdoc.Encoding       `json:"positionEncoding"`
	TextDocumentSync         textDocumentSync       `json:"textDocumentSync"`
	InlineCompletionProvider bool                   `json:"inlineCompletionProvider"`
	CodeActionProvider       codeActionOptions      `json:"codeActionProvider"`
	ExecuteCommandProvider   executeCommandOptions  `json:"executeCommandProvider"`
	DiagnosticProvider       *diagnosticOptions     `json:"diagnosticProvider,omitempty"`
	Experimental             map[string]interface{} `json:"experimental,omitempty"`
}

type diagnosticOptions struct {
	Identifier            string `json:"identifier"`
	InterFileDependencies bool   `json:"interFileDependencies"`
	WorkspaceDiagnostics  bool   `json:"workspaceDiagnostics"`
}

type textDocumentSync struct {
	OpenClose bool `json:"openClose"`
	Change    int  `json:"change"` // 2: incremental
}

type codeActionOptions struct {
	CodeActionKinds []string `json:"codeActionKinds"`
	ResolveProvider bool     `json:"resolveProvider"`
}

type executeCommandOptions struct {
	Commands []string `json:"commands"`
}

// ---- documents ----

type textDocumentItem struct {
	URI        string `json:"uri" nib:"required"`
	LanguageID string `json:"languageId"`
	Version    int32  `json:"version"`
	Text       string `json:"text" nib:"required"`
}

type textDocumentIdentifier struct {
	URI string `json:"uri" nib:"required"`
}

type versionedTextDocumentIdentifier struct {
	URI     string `json:"uri" nib:"required"`
	Version int32  `json:"version"`
}

type didOpenParams struct {
	TextDocument textDocumentItem `json:"textDocument" nib:"required"`
}

type didChangeParams struct {
	TextDocument   versionedTextDocumentIdentifier `json:"textDocument" nib:"required"`
	ContentChanges []textdoc.Change                `json:"contentChanges" nib:"required"`
}

type didCloseParams struct {
	TextDocument textDocumentIdentifier `json:"textDocument" nib:"required"`
}

type didChangeConfigurationParams struct {
	Settings json.RawMessage `json:"settings"`
}

// ---- inline completion (3.18) ----

type inlineCompletionParams struct {
	TextDocument textDocumentIdentifier `json:"textDocument" nib:"required"`
	Position     Position               `json:"position" nib:"required"`
	Context      *struct {
		TriggerKind int `json:"triggerKind"`
	} `json:"context,omitempty"`
}

type inlineCompletionList struct {
	Items []inlineCompletionItem `json:"items"`
}

type inlineCompletionItem struct {
	InsertText string `json:"insertText"`
	Range      *Range `json:"range,omitempty"`
}

// ---- code actions and commands ----

type codeActionParams struct {
	TextDocument textDocumentIdentifier `json:"textDocument" nib:"required"`
	Range        Range                  `json:"range" nib:"required"`
	Context      *struct {
		Diagnostics []diagnostic `json:"diagnostics"`
	} `json:"context,omitempty"`
}

type codeAction struct {
	Title       string         `json:"title"`
	Kind        string         `json:"kind"`
	Diagnostics []diagnostic   `json:"diagnostics,omitempty"`
	IsPreferred bool           `json:"isPreferred,omitempty"`
	Edit        *workspaceEdit `json:"edit,omitempty"`
	Command     *command       `json:"command,omitempty"`
}

// ---- checking ----

type diagnostic struct {
	Range    Range           `json:"range"`
	Severity int             `json:"severity,omitempty"`
	Code     string          `json:"code,omitempty"`
	Source   string          `json:"source,omitempty"`
	Message  string          `json:"message"`
	Data     *diagnosticData `json:"data,omitempty"`
}

// diagnosticData says what a diagnostic of nib's proposes.
type diagnosticData struct {
	Sentence   string `json:"sentence"`
	Correction string `json:"correction"`
	Old        string `json:"old"`
	New        string `json:"new"`
}

type publishDiagnosticsParams struct {
	URI         string       `json:"uri"`
	Version     *int32       `json:"version,omitempty"`
	Diagnostics []diagnostic `json:"diagnostics"`
}

type documentDiagnosticParams struct {
	TextDocument     textDocumentIdentifier `json:"textDocument" nib:"required"`
	Identifier       string                 `json:"identifier,omitempty"`
	PreviousResultID string                 `json:"previousResultId,omitempty"`
}

type documentDiagnosticReport struct {
	Kind     string       `json:"kind"` // full or unchanged
	ResultID string       `json:"resultId"`
	Items    []diagnostic `json:"items,omitempty"`
}

type ignoreSentenceArgs struct {
	Sentence string `json:"sentence" nib:"required"`
}

type ignoreInDocumentArgs struct {
	TextDocument textDocumentIdentifier `json:"textDocument" nib:"required"`
	Old          string                 `json:"old"`
	New          string                 `json:"new"`
}

type command struct {
	Title     string `json:"title"`
	Command   string `json:"command"`
	Arguments []any  `json:"arguments,omitempty"`
}

type executeCommandParams struct {
	Command   string            `json:"command" nib:"required"`
	Arguments []json.RawMessage `json:"arguments"`
	// WorkDoneToken, if the client gives one, carries the rewrite's
	// progress (its text so far) instead of a token nib creates.
	WorkDoneToken any `json:"workDoneToken,omitempty"`
}

// rewriteArgs is the argument of the nib.rewrite command.
type rewriteArgs struct {
	TextDocument versionedTextDocumentIdentifier `json:"textDocument" nib:"required"`
	Range        Range                           `json:"range" nib:"required"`
	Instruction  string                          `json:"instruction"`
}

type rewriteCommandResult struct {
	Applied bool   `json:"applied"`
	Text    string `json:"text"`
}

type textEdit struct {
	Range   Range  `json:"range"`
	NewText string `json:"newText"`
}

type applyWorkspaceEditParams struct {
	Label string        `json:"label,omitempty"`
	Edit  workspaceEdit `json:"edit"`
}

type workspaceEdit struct {
	Changes         map[string][]textEdit `json:"changes,omitempty"`
	DocumentChanges []textDocumentEdit    `json:"documentChanges,omitempty"`
}

type textDocumentEdit struct {
	TextDocument versionedTextDocumentIdentifier `json:"textDocument" nib:"required"`
	Edits        []textEdit                      `json:"edits"`
}

type applyWorkspaceEditResult struct {
	Applied       bool   `json:"applied"`
	FailureReason string `json:"failureReason,omitempty"`
}

// ---- progress, messages, cancellation ----

type cancelParams struct {
	ID json.RawMessage `json:"id" nib:"required"`
}

type progressParams struct {
	Token any `json:"token"`
	Value any `json:"value"`
}

type workDoneProgressCreateParams struct {
	Token any `json:"token"`
}

type workDoneProgress struct {
	Kind        string `json:"kind"` // begin, report, end
	Title       string `json:"title,omitempty"`
	Message     string `json:"message,omitempty"`
	Percentage  *int   `json:"percentage,omitempty"`
	Cancellable bool   `json:"cancellable,omitempty"`
}

type showMessageParams struct {
	Type    int    `json:"type"` // 1 error, 2 warning, 3 info, 4 log
	Message string `json:"message"`
}

// ---- nib/complete and nib/rewrite ----

// sampling holds the decoding fields shared by nib/complete and
// nib/rewrite.
type sampling struct {
	N           *int     `json:"n,omitempty"`
	MaxTokens   *int     `json:"maxTokens,omitempty"`
	Strategy    string   `json:"strategy,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	TopK        *int     `json:"topK,omitempty"`
	TopP        *float64 `json:"topP,omitempty"`
	Seed        *uint64  `json:"seed,omitempty"`
}

type completeParams struct {
	TextDocument       textDocumentIdentifier `json:"textDocument" nib:"required"`
	Position           Position               `json:"position" nib:"required"`
	StopAtSentenceEnd  *bool                  `json:"stopAtSentenceEnd,omitempty"`
	PartialResultToken any                    `json:"partialResultToken,omitempty"`
	sampling
}

type rewriteParams struct {
	TextDocument versionedTextDocumentIdentifier `json:"textDocument" nib:"required"`
	Range        Range                           `json:"range" nib:"required"`
	Instruction  string                          `json:"instruction"`
	// Text, when given, is rewritten instead of the range's text: a
	// refinement, where it is the alternative chosen from an earlier
	// preview and Instruction the follow-up ("shorter"). Edits still turn
	// the range's text into each result.
	Text               *string `json:"text,omitempty"`
	PartialResultToken any     `json:"partialResultToken,omitempty"`
	sampling
}

type generateResult struct {
	Items  []generatedItem `json:"items"`
	Cached string          `json:"cached"`
}

type generatedItem struct {
	Text   string     `json:"text"`
	Edits  []textEdit `json:"edits,omitempty"`
	Tokens int        `json:"tokens"`
	Finish string     `json:"finish"`
}

// streamDelta is the $/progress value of a streamed token.
type streamDelta struct {
	Index int     `json:"index"`
	Delta string  `json:"delta,omitempty"`
	Reset *string `json:"reset,omitempty"`
}
