// Reading a V8 CPU profile (the inspector's Profiler.stop, or a .cpuprofile
// file) of the server: where its CPU went, by area (self time: the function
// on top of the stack when sampled), by a few product stages (inclusive:
// the stage anywhere on the stack), and the top functions.

import WebSocket from 'ws';

export interface CpuProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
	hitCount?: number;
	children?: number[];
}

export interface CpuProfile {
	nodes: CpuProfileNode[];
	startTime: number;
	endTime: number;
	samples?: number[];
	timeDeltas?: number[];
}

type Frame = CpuProfileNode['callFrame'];

/** Native functions (no script URL) that write to or read from sockets. */
const SOCKET_NATIVES = new Set(['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString', 'writeUcs2String', 'readStart', 'readStop', 'shutdown', 'close', 'setNoDelay']);

/** The area a function's own time counts to. */
export function areaOf(frame: Frame): string | undefined {
	const { functionName: name, url } = frame;
	if (name === '(idle)') return undefined;
	if (name === '(garbage collector)') return 'GC';
	if (name === '(program)' || name === '(root)') return 'VM/native, not attributed to a JS function';
	if (url === '') {
		if (name === 'parse') return 'JSON.parse';
		if (name === 'stringify') return 'JSON.stringify';
		if (SOCKET_NATIVES.has(name)) return 'socket syscalls (native write/read, kernel TCP)';
		return 'other native/builtins';
	}
	if (url.includes('/node_modules/ws/')) return 'ws: frame parse, unmask, frame build, send';
	if (url.includes('/node_modules/zod/')) return 'zod validation';
	if (url.includes('/node_modules/prom-client/') || url.includes('/dist/server/metrics/')) return 'metrics (prom-client)';
	if (/\/node_modules\/(pino|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|on-exit-leak-free)/.test(url)) return 'logging (pino)';
	if (url.includes('/node_modules/awaitqueue/')) return 'per-connection queue (AwaitQueue)';
	if (/\/node_modules\/(ioredis|redis-parser|denque|cluster-key-slot|standard-as-callback|redis-errors)/.test(url)) return 'Redis client (ioredis)';
	if (url.includes('/dist/server/signaling/RateLimiter')) return 'rate limiter';
	if (url.includes('/dist/core/protocol/')) return 'protocol codec (own code)';
	if (url.includes('/dist/server/signaling/Connection')) return 'Connection: decode/queue/respond glue';
	if (url.includes('/dist/server/signaling/')) return 'signaling service, fan-out, heartbeat';
	if (url.includes('/dist/server/cluster/')) return 'cluster relay';
	if (url.startsWith('node:')) {
		if (/^node:(net|stream|internal\/stream_base_commons|internal\/streams\/)/.test(url)) return 'Node net/streams (socket read/write path)';
		if (/^node:internal\/process\/(task_queues|promises)/.test(url)) return 'promises/microtask queue';
		if (/^node:(internal\/)?timers/.test(url)) return 'timers';
		if (url === 'node:events' || url === 'node:internal/events/abort_listener') return 'events (emit)';
		if (url === 'node:buffer' || url === 'node:internal/buffer') return 'Buffer';
		return 'Node core (other)';
	}
	if (url.includes('/node_modules/')) return 'other dependencies';
	return 'other JS';
}

/** Stages counted inclusively: time with a matching frame anywhere on the stack. */
const STAGES: Array<[string, (f: Frame) => boolean]> = [
	['ws receive: frames -> "message" handlers (includes them)', (f) => f.url.includes('/node_modules/ws/lib/receiver.js')],
	['Connection #onFrame (sync part of a request)', (f) => f.functionName === '#onFrame'],
	['  decodeEnvelope (JSON.parse + envelope check)', (f) => f.functionName === 'decodeEnvelope'],
	['  parseRequest (method data check)', (f) => f.functionName === 'parseRequest'],
	['Connection #handle (request handling)', (f) => f.functionName === '#handle' || f.functionName === '#handleJoined'],
	['  SignalingService.signal (lookup, encode, fan-out)', (f) => f.functionName === 'signal' && f.url.includes('SignalingService')],
	['Connection.send (queued-bytes check + ws send)', (f) => f.functionName === 'send' && f.url.includes('/dist/server/signaling/Connection')],
	['  ws WebSocket.send (frame + socket write)', (f) => f.functionName === 'send' && f.url.includes('/node_modules/ws/lib/websocket.js')],
	['encodeOk/encodeNotification/encodeError (JSON.stringify)', (f) => /^encode(Ok|Notification|Error)$/.test(f.functionName)],
	['zod (any)', (f) => f.url.includes('/node_modules/zod/')],
	['prom-client (any)', (f) => f.url.includes('/node_modules/prom-client/')],
	['AwaitQueue (any)', (f) => f.url.includes('/node_modules/awaitqueue/')],
	['heartbeat (ping every socket)', (f) => f.functionName === 'heartbeat' && f.url.includes('/dist/server/signaling/Connection')],
	['Redis client (any)', (f) => /\/node_modules\/(ioredis|redis-parser)/.test(f.url)],
	['cluster relay (any)', (f) => f.url.includes('/dist/server/cluster/')],
	['GC', (f) => f.functionName === '(garbage collector)'],
];

export interface ProfileSummary {
	/** Samples taken, and of them not idle. */
	samples: number;
	busySamples: number;
	/** Busy samples per area (self), per stage (inclusive), and the top functions (self). */
	areas: Array<{ area: string; samples: number }>;
	stages: Array<{ stage: string; samples: number }>;
	top: Array<{ fn: string; area: string; samples: number }>;
}

/**
 * Counts samples, each the same weight: the sampler runs on wall time, and
 * the gap after a preemption (other processes on the cores) would
 * otherwise count to wherever the thread happened to resume.
 */
export function summarizeProfile(profile: CpuProfile, topCount = 20): ProfileSummary {
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const parent = new Map<number, number>();
	for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	const samples = profile.samples ?? [];
	const areas = new Map<string, number>();
	const stages = new Map<string, number>();
	const fns = new Map<string, { area: string; samples: number }>();
	let busySamples = 0;
	for (const sample of samples) {
		const node = byId.get(sample);
		if (!node) continue;
		const area = areaOf(node.callFrame);
		if (area === undefined) continue;
		busySamples++;
		areas.set(area, (areas.get(area) ?? 0) + 1);
		const { functionName, url, lineNumber } = node.callFrame;
		const key = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : '(native)'}`;
		const fn = fns.get(key) ?? { area, samples: 0 };
		fn.samples++;
		fns.set(key, fn);
		// Inclusive: each stage once per sample, however deep (bounded by the stack's depth).
		const seen = new Set<string>();
		for (let id: number | undefined = node.id, depth = 0; id !== undefined && depth < 1000; id = parent.get(id), depth++) {
			const frame = (byId.get(id) as CpuProfileNode).callFrame;
			for (const [stage, matches] of STAGES) if (!seen.has(stage) && matches(frame)) seen.add(stage);
		}
		for (const stage of seen) stages.set(stage, (stages.get(stage) ?? 0) + 1);
	}
	return {
		samples: samples.length,
		busySamples,
		areas: [...areas].map(([area, n]) => ({ area, samples: n })).sort((a, b) => b.samples - a.samples),
		stages: STAGES.map(([stage]) => ({ stage, samples: stages.get(stage) ?? 0 })),
		top: [...fns]
			.map(([fn, { area, samples: n }]) => ({ fn, area, samples: n }))
			.sort((a, b) => b.samples - a.samples)
			.slice(0, topCount),
	};
}

function shortUrl(url: string): string {
	const nm = url.lastIndexOf('/node_modules/');
	if (nm !== -1) return url.slice(nm + '/node_modules/'.length);
	const dist = url.indexOf('/dist/');
	if (dist !== -1) return url.slice(dist + 1);
	return url.replace(/^file:\/\//, '');
}

/**
 * Prints a summary: each line's share of the busy samples, and that share
 * of the process's measured CPU time (`cpuMs`, user + system over the
 * window) per request answered: an apportioning, as the profile samples
 * the main thread only.
 */
export function printProfile(title: string, summary: ProfileSummary, cpuMs: number, requests: number): void {
	const busy = Math.max(1, summary.busySamples);
	const line = (label: string, n: number) => {
		const share = n / busy;
		const us = requests > 0 ? ((share * cpuMs * 1000) / requests).toFixed(1).padStart(7) : '      -';
		console.log(`  ${label.padEnd(64)} ${(share * 100).toFixed(1).padStart(5)}% ${us} µs/req`);
	};
	console.log(
		`\n${title}: ${summary.busySamples} busy samples of ${summary.samples}; ` +
			`${cpuMs.toFixed(0)} ms CPU for ${requests} requests answered = ${((cpuMs * 1000) / Math.max(1, requests)).toFixed(1)} µs/req`,
	);
	console.log('  self time by area:');
	for (const { area, samples } of summary.areas) line(area, samples);
	console.log('  inclusive, by stage (the stage anywhere on the stack):');
	for (const { stage, samples } of summary.stages) line(stage, samples);
	console.log('  top functions (self time):');
	for (const { fn, samples } of summary.top) line(fn.length > 64 ? `${fn.slice(0, 61)}...` : fn, samples);
}

export interface HeapProfileNode {
	callFrame: Frame;
	selfSize: number;
	children: HeapProfileNode[];
}

/** Bytes allocated on the JS heap per function (self), the largest first, with their callers' chain. */
export function summarizeHeap(head: HeapProfileNode, topCount = 15): { totalBytes: number; top: Array<{ fn: string; via: string; bytes: number }> } {
	const sites = new Map<string, { fn: string; via: string; bytes: number }>();
	let totalBytes = 0;
	const label = (f: Frame) => `${f.functionName || '(anonymous)'} ${f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '(native)'}`;
	// Bounded: the tree is finite; the walk keeps an explicit stack of at most its size.
	const stack: Array<{ node: HeapProfileNode; path: Frame[] }> = [{ node: head, path: [] }];
	while (stack.length > 0) {
		const { node, path } = stack.pop() as { node: HeapProfileNode; path: Frame[] };
		const here = [...path, node.callFrame];
		if (node.selfSize > 0) {
			totalBytes += node.selfSize;
			const via = here
				.slice(-5, -1)
				.reverse()
				.map((f) => f.functionName || '(anonymous)')
				.join(' < ');
			const key = `${label(node.callFrame)}|${via}`;
			const site = sites.get(key) ?? { fn: label(node.callFrame), via, bytes: 0 };
			site.bytes += node.selfSize;
			sites.set(key, site);
		}
		for (const child of node.children) stack.push({ node: child, path: here.length > 12 ? here.slice(-12) : here });
	}
	return { totalBytes, top: [...sites.values()].sort((a, b) => b.bytes - a.bytes).slice(0, topCount) };
}

/**
 * A CPU profiler on a Node process started with `--inspect=127.0.0.1:<port>`
 * (the inspector's Profiler domain over its WebSocket; loopback only).
 */
export class InspectorProfiler {
	readonly #ws: WebSocket;
	#next = 0;
	readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

	private constructor(ws: WebSocket) {
		this.#ws = ws;
		ws.on('message', (raw: Buffer) => {
			const msg = JSON.parse(raw.toString()) as { id?: number; result?: unknown; error?: { message: string } };
			if (msg.id === undefined) return;
			const waiter = this.#waiting.get(msg.id);
			if (!waiter) return;
			this.#waiting.delete(msg.id);
			if (msg.error) waiter.reject(new Error(msg.error.message));
			else waiter.resolve(msg.result);
		});
	}

	static async connect(port: number, timeoutMs = 10_000): Promise<InspectorProfiler> {
		const deadline = Date.now() + timeoutMs;
		let url: string | undefined;
		// Bounded: until the deadline, every 100 ms.
		while (!url && Date.now() < deadline) {
			try {
				const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl?: string }>;
				url = targets[0]?.webSocketDebuggerUrl;
			} catch {
				await new Promise((r) => setTimeout(r, 100));
			}
		}
		if (!url) throw new Error(`no inspector on 127.0.0.1:${port}`);
		const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 });
		await new Promise<void>((resolve, reject) => {
			ws.once('open', () => resolve());
			ws.once('error', reject);
		});
		const profiler = new InspectorProfiler(ws);
		await profiler.#post('Profiler.enable');
		return profiler;
	}

	/** Starts sampling every `intervalUs` microseconds. */
	async start(intervalUs = 500): Promise<void> {
		await this.#post('Profiler.setSamplingInterval', { interval: intervalUs });
		await this.#post('Profiler.start');
	}

	async stop(): Promise<CpuProfile> {
		return ((await this.#post('Profiler.stop')) as { profile: CpuProfile }).profile;
	}

	/** Starts the sampling heap profiler: every allocation counted, collected or not, one sample per `intervalBytes` on average. */
	async startHeapSampling(intervalBytes = 16_384): Promise<void> {
		await this.#post('HeapProfiler.enable');
		await this.#post('HeapProfiler.startSampling', {
			samplingInterval: intervalBytes,
			includeObjectsCollectedByMajorGC: true,
			includeObjectsCollectedByMinorGC: true,
		});
	}

	async stopHeapSampling(): Promise<HeapProfileNode> {
		return ((await this.#post('HeapProfiler.stopSampling')) as { profile: { head: HeapProfileNode } }).profile.head;
	}

	close(): void {
		this.#ws.close();
	}

	#post(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
		const id = ++this.#next;
		return new Promise((resolve, reject) => {
			this.#waiting.set(id, { resolve, reject });
			this.#ws.send(JSON.stringify({ id, method, params }));
		});
	}
}
