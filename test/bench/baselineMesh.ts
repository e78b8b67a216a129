import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The smallest possible mesh, for the join bench's baseline: one HTTP page
 * with a raw RTCPeerConnection per remote (no framework, no bundle), and a
 * WebSocket that relays its messages to the others in the same room. The
 * newcomer asks for camera and microphone while its socket opens, offers
 * to everyone already there as soon as it hears who they are, and records
 * when each remote's first frame renders (performance.now(), from the
 * navigation), as the product's page does in `window.__timing`.
 */
const PAGE = `<!doctype html><meta charset="utf-8"><title>baseline</title><body><script>
window.__marks = { script: performance.now() };
const mark = (step) => { window.__marks[step] ??= performance.now(); };
const params = new URLSearchParams(location.search);
const ws = new WebSocket('ws://' + location.host + '/relay?room=' + encodeURIComponent(params.get('room')));
ws.addEventListener('open', () => mark('socketOpen'));
const media = navigator.mediaDevices.getUserMedia({ video: true, audio: true });
media.then(() => mark('localMedia'));
const pcs = new Map();
window.__firstFrameAt = {};
// In the room with the camera open: the bench opens the next page only then.
Promise.all([media, new Promise((resolve) => ws.addEventListener('open', resolve))]).then(() => { window.__ready = true; });
function peer(id) {
	let pc = pcs.get(id);
	if (pc) return pc;
	pc = new RTCPeerConnection();
	pcs.set(id, pc);
	pc.oniceconnectionstatechange = () => pc.iceConnectionState === 'connected' && mark('connected');
	pc.onicecandidate = (e) => e.candidate && ws.send(JSON.stringify({ to: id, candidate: e.candidate }));
	pc.ontrack = (e) => {
		mark('remoteMedia');
		if (e.track.kind !== 'video') return;
		const v = document.createElement('video');
		v.muted = true; v.autoplay = true; v.playsInline = true; v.width = 160; v.height = 90;
		v.srcObject = new MediaStream([e.track]);
		document.body.append(v);
		v.requestVideoFrameCallback(() => { window.__firstFrameAt[id] ??= performance.now(); mark('firstFrame'); });
	};
	pc.ready = media.then((stream) => { for (const t of stream.getTracks()) pc.addTrack(t, stream); });
	return pc;
}
ws.onmessage = async (event) => {
	const m = JSON.parse(event.data);
	if (m.peers) {
		for (const id of m.peers) {
			const pc = peer(id);
			await pc.ready;
			await pc.setLocalDescription(await pc.createOffer());
			ws.send(JSON.stringify({ to: id, description: pc.localDescription }));
			mark('descriptionSent');
		}
	} else if (m.description) {
		mark('descriptionReceived');
		const pc = peer(m.from);
		await pc.ready;
		await pc.setRemoteDescription(m.description);
		if (m.description.type === 'offer') {
			await pc.setLocalDescription(await pc.createAnswer());
			ws.send(JSON.stringify({ to: m.from, description: pc.localDescription }));
			mark('descriptionSent');
		}
	} else if (m.candidate) {
		await peer(m.from).addIceCandidate(m.candidate).catch(() => {});
	}
};
</script>`;

export interface BaselineServer {
	url: string;
	close(): Promise<void>;
}

/** Starts the baseline's page and relay on a free loopback port. */
export async function startBaselineServer(): Promise<BaselineServer> {
	const http: Server = createServer((req, res) => {
		res.writeHead(200, { 'content-type': 'text/html' });
		res.end(PAGE);
	});
	const wss = new WebSocketServer({ server: http, path: '/relay' });
	const rooms = new Map<string, Map<string, WebSocket>>();
	let next = 0;
	wss.on('connection', (socket, req) => {
		const room = new URL(req.url ?? '/', 'http://x').searchParams.get('room') ?? '';
		const members = rooms.get(room) ?? new Map<string, WebSocket>();
		rooms.set(room, members);
		const id = `p${++next}`;
		socket.send(JSON.stringify({ peers: [...members.keys()] }));
		members.set(id, socket);
		socket.on('message', (data) => {
			const message = JSON.parse(String(data)) as { to: string };
			members.get(message.to)?.send(JSON.stringify({ ...message, from: id }));
		});
		socket.on('close', () => members.delete(id));
	});
	await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
	const { port } = http.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		close: () =>
			new Promise<void>((resolve) => {
				for (const client of wss.clients) client.terminate();
				wss.close();
				http.close(() => resolve());
			}),
	};
}
