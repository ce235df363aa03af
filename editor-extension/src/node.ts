// Node entry: start the daemon and serve pages through the bridge.
export { startNib, type StartNibOptions, type NibProcess } from './node/daemon';
export { startBridge, type Bridge, type BridgeOptions } from './node/bridge';
export { checkUpgrade, newBridgeToken } from './node/bridge-auth';
export { NibClient } from './client/nib-client';
