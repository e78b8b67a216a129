// simple-peer's prebuilt browser bundle (Node built-ins included), typed as simple-peer.
declare module 'simple-peer/simplepeer.min.js' {
	import SimplePeer from 'simple-peer';
	export default SimplePeer;
}
