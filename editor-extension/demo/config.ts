import type { NibSettings } from '../src/index';
import type { NibTransport } from '../src/browser';

/** How the page reaches nib, read from its URL's fragment (which the
 * browser never sends to any server), as scripts/demo.ts prints it:
 *
 *   #bridge=ws://...&token=...                 the daemon, through the bridge
 *   #engine=browser&model=/model/&settings={}  nib in the page; model is a
 *     folder URL, or hub=owner/name with an optional endpoint and revision
 */
export interface DemoConfig {
  transport: NibTransport;
  /** Settings the page sends in initialize (the bridge's daemon has its own). */
  settings?: NibSettings;
}

export function readConfig(hash: string): DemoConfig | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const settings = params.get('settings');
  const extra = settings ? { settings: JSON.parse(settings) as NibSettings } : {};
  if (params.get('engine') === 'browser') {
    const url = params.get('model');
    const hub = params.get('hub');
    const endpoint = params.get('endpoint');
    const revision = params.get('revision');
    const model = url
      ? { url }
      : hub
        ? { hub, ...(endpoint ? { endpoint } : {}), ...(revision ? { revision } : {}) }
        : undefined;
    if (!model) return undefined;
    return { transport: { engine: 'browser', model, assets: params.get('assets') ?? '/nib/' }, ...extra };
  }
  const bridge = params.get('bridge');
  const token = params.get('token');
  return bridge && token ? { transport: { engine: 'daemon', bridge, token }, ...extra } : undefined;
}
