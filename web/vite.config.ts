import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
	root,
	build: {
		outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
		emptyOutDir: true,
		target: 'es2022',
		// No source maps in the production build: they would publish the whole source.
		sourcemap: false,
	},
	server: {
		// `vite --config web/vite.config.ts` for UI work, with the server on :8080.
		proxy: { '/ws': { target: 'ws://localhost:8080', ws: true }, '/healthz': 'http://localhost:8080' },
	},
});
