import { createSocket, type Socket } from 'node:dgram';

/** The payload type the hand-made VP8 below uses (as in the tests' rtpParameters). */
export const VP8_PT = 96;

/** A VP8 RTP packet that is a key frame (mediasoup 3.8.4 reads X=1, S=1, PID=0, then P=0), with `seq` in its last 4 bytes. */
export function vp8KeyFrame(seq: number, ssrc: number): Buffer {
	const packet = Buffer.alloc(200, 0x5a);
	packet[0] = 0x80;
	packet[1] = 0x80 | VP8_PT; // marker: one packet per frame
	packet.writeUInt16BE(seq & 0xffff, 2);
	packet.writeUInt32BE((seq * 3000) >>> 0, 4);
	packet.writeUInt32BE(ssrc, 8);
	packet[12] = 0x90; // X=1, S=1, PID=0
	packet[13] = 0x80; // I=1: picture id present
	packet.writeUInt16BE(0x8000 | (seq & 0x7fff), 14); // 15-bit picture id
	packet[16] = 0x10; // VP8 payload header: P=0 (key frame), show_frame=1
	packet[17] = 0x02;
	packet[18] = 0x00;
	packet.writeUInt8(0x9d, 19); // key frame start code
	packet.writeUInt8(0x01, 20);
	packet.writeUInt8(0x2a, 21);
	packet.writeUInt16LE(320, 22);
	packet.writeUInt16LE(180, 24);
	packet.writeUInt32BE(seq, packet.length - 4);
	return packet;
}

export function bindUdp(): Promise<Socket> {
	const socket = createSocket('udp4');
	return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}
