import type { types } from 'mediasoup';

/** Codecs every room's router offers: Opus for audio, VP8 (simulcast-capable) for video. */
export const mediaCodecs: types.RtpCodecCapability[] = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
	{
		kind: 'video',
		mimeType: 'video/VP8',
		clockRate: 90000,
		parameters: { 'x-google-start-bitrate': 1000 },
	},
];
