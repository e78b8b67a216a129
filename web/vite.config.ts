import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The app chunk (main.ts), which the first script (boot.ts) imports as soon
 * as it has started a direct link's join: the page fetches and compiles it
 * with the HTML (`modulepreload`) instead of after the first script ran.
 * Measured on the join bench: about 10% off the time to the first frame.
 */
function preloadAppChunk(): Plugin {
	return {
		name: 'preload-app-chunk',
		transformIndexHtml: {
			order: 'post',
			handler(_html, context) {
				const app = Object.values(context.bundle ?? {}).find((chunk) => chunk.type === 'chunk' && chunk.name === 'main');
				return app ? [{ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: `/${app.fileName}` }, injectTo: 'head' }] : [];
			},
		},
	};
}

export default defineConfig({
	root,
	plugins: [preloadAppChunk()],
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
