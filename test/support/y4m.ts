import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes a small Y4M clip for Chromium's fake camera: a moving bar on a
 * gradient, so every frame differs (encoders cannot skip it as static).
 * 320x180 at 15 fps, `frames` frames; Chromium loops it.
 */
export function writeFakeCameraClip(width = 320, height = 180, frames = 30): string {
	const dir = join(tmpdir(), 'streaming-engine-test');
	const file = join(dir, `fake-camera-${width}x${height}-${frames}.y4m`);
	if (existsSync(file)) return file;
	mkdirSync(dir, { recursive: true });
	const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F15:1 Ip A1:1 C420jpeg\n`);
	const ySize = width * height;
	const cSize = (width / 2) * (height / 2);
	const parts: Buffer[] = [header];
	for (let f = 0; f < frames; f++) {
		const y = Buffer.alloc(ySize);
		const barX = Math.floor((f / frames) * width);
		for (let row = 0; row < height; row++) {
			for (let col = 0; col < width; col++) {
				const inBar = col >= barX && col < barX + 24;
				y[row * width + col] = inBar ? 235 : 16 + Math.floor(((row + col) / (width + height)) * 180);
			}
		}
		parts.push(Buffer.from('FRAME\n'), y, Buffer.alloc(cSize, 90 + f * 3), Buffer.alloc(cSize, 160 - f * 2));
	}
	const tmp = `${file}.${process.pid}.tmp`;
	writeFileSync(tmp, Buffer.concat(parts));
	// Rename is atomic: parallel test files never read half a clip.
	renameSync(tmp, file);
	return file;
}
