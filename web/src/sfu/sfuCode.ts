/**
 * Everything the SFU path runs (mediasoup-client and the session around
 * it), as one entry: the bundler makes it a chunk of its own, fetched only
 * when a call first needs the SFU (topology/SfuPath.ts loads it). A mesh
 * call never parses it before its first frame.
 */
export { SfuSession } from './SfuSession.js';
export { loadDevice } from './sfuParams.js';
