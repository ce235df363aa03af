/** Where the bridge is and the token it wants. scripts/demo.ts prints a URL
 * carrying both in the fragment (#bridge=...&token=...), which the browser
 * never sends to any server. */
export interface DemoConfig {
  bridge: string;
  token: string;
}

export function readConfig(hash: string): DemoConfig | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const bridge = params.get('bridge');
  const token = params.get('token');
  return bridge && token ? { bridge, token } : undefined;
}
