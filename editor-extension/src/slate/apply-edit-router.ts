import type { ApplyWorkspaceEditParams, ApplyWorkspaceEditResult } from '../protocol';
import type { NibPluginClient } from './types';

type Handler = (params: ApplyWorkspaceEditParams) => ApplyWorkspaceEditResult;

// A client has one workspace/applyEdit handler; several editors may share
// the client, so the handler routes each edit to the editor of its URI.
const routes = new WeakMap<NibPluginClient, Map<string, Handler>>();

/** Registers the editor of `uri` for workspace/applyEdit; returns the undo. */
export function registerApplyEdit(client: NibPluginClient, uri: string, handler: Handler): () => void {
  let table = routes.get(client);
  if (!table) {
    const created = new Map<string, Handler>();
    table = created;
    routes.set(client, created);
    client.setApplyEditHandler?.((params) => route(created, params));
  }
  table.set(uri, handler);
  const owned = table;
  return () => {
    if (owned.get(uri) === handler) owned.delete(uri);
  };
}

function route(table: Map<string, Handler>, params: ApplyWorkspaceEditParams): ApplyWorkspaceEditResult {
  const uris = new Set([...Object.keys(params.edit.changes ?? {}), ...(params.edit.documentChanges ?? []).map((c) => c.textDocument.uri)]);
  if (uris.size !== 1) return { applied: false, failureReason: 'nib: an edit must touch exactly one open document' };
  const [uri] = uris;
  const handler = uri === undefined ? undefined : table.get(uri);
  return handler ? handler(params) : { applied: false, failureReason: `nib: no editor has ${uri} open` };
}
