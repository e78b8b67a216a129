import { defineConfig } from 'vitest/config';

// Three projects, one runner: unit tests sit next to the code, integration
// tests start real servers and mediasoup workers, e2e tests drive real Chromium.
export default defineConfig({
	test: {
		projects: [
			{
				test: {
					name: 'unit',
					// test/bench/report: the benchmark report's pure helpers (charts, bins); the benches themselves are commands, not tests.
					include: ['core/**/*.test.ts', 'server/**/*.test.ts', 'web/**/*.test.ts', 'turn/**/*.test.ts', 'test/bench/report/**/*.test.ts'],
					environment: 'node',
				},
			},
			{
				test: {
					name: 'integration',
					include: ['test/integration/**/*.test.ts'],
					testTimeout: 30_000,
					hookTimeout: 60_000,
				},
			},
			{
				test: {
					name: 'e2e',
					include: ['test/e2e/**/*.e2e.test.ts'],
					testTimeout: 90_000,
					hookTimeout: 90_000,
					// expect.poll waits on a condition; 1 s (vitest's default) is too short a bound
					// for a browser on a busy 2-core machine to get there.
					expect: { poll: { timeout: 15_000, interval: 100 } },
					// Browsers share 2 cores: one e2e file at a time.
					fileParallelism: false,
				},
			},
		],
	},
});
