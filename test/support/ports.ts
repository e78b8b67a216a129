import { createServer } from 'node:net';

/** A free TCP port on loopback (bound, read, released). */
export async function freeTcpPort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const address = server.address();
	await new Promise<void>((resolve) => server.close(() => resolve()));
	if (!address || typeof address !== 'object') throw new Error('no port');
	return address.port;
}
