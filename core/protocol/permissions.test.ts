import { describe, expect, it } from 'vitest';
import { descriptionSendsMedia } from './permissions.js';

/**
 * An offer as Chromium writes it for one audio and one video transceiver
 * (taken from Chromium 156's createOffer(), codec lists shortened), with
 * each section's direction attribute (or none), its port, and optional
 * session-level lines.
 */
function chromiumOffer(options: {
	audio?: string | null;
	video?: string | null;
	videoPort?: number;
	session?: string[];
	eol?: string;
}): string {
	const { audio = 'sendrecv', video = 'sendrecv', videoPort = 9, session = [], eol = '\r\n' } = options;
	const direction = (d: string | null) => (d === null ? [] : [`a=${d}`]);
	const lines = [
		'v=0',
		'o=- 7245639965534812281 2 IN IP4 127.0.0.1',
		's=-',
		't=0 0',
		...session,
		'a=group:BUNDLE 0 1',
		'a=extmap-allow-mixed',
		'a=msid-semantic: WMS',
		'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
		'c=IN IP4 0.0.0.0',
		'a=rtcp:9 IN IP4 0.0.0.0',
		'a=ice-ufrag:tWFB',
		'a=ice-pwd:/ENBRfqUHTChoWJAeNKxXyoF',
		'a=ice-options:trickle',
		'a=fingerprint:sha-256 CD:CA:62:72:2C:08:19:85:24:D2:31:1E:C4:89:BF:D5:66:88:48:05:C2:8D:4B:23:FB:CA:AE:5A:11:0F:36:4C',
		'a=setup:actpass',
		'a=mid:0',
		'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
		'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
		...direction(audio),
		'a=msid:- d85654b9-4fdc-42e7-8808-f17e3b68def0',
		'a=rtcp-mux',
		'a=rtcp-rsize',
		'a=rtpmap:111 opus/48000/2',
		'a=rtcp-fb:111 transport-cc',
		'a=fmtp:111 minptime=10;useinbandfec=1',
		'a=rtpmap:63 red/48000/2',
		'a=fmtp:63 111/111',
		'a=ssrc:2112671440 cname:VIGaqM5oolkBsoOn',
		'a=ssrc:2112671440 msid:- d85654b9-4fdc-42e7-8808-f17e3b68def0',
		`m=video ${videoPort} UDP/TLS/RTP/SAVPF 96 97 102 103 45 46`,
		'c=IN IP4 0.0.0.0',
		'a=rtcp:9 IN IP4 0.0.0.0',
		'a=ice-ufrag:tWFB',
		'a=ice-pwd:/ENBRfqUHTChoWJAeNKxXyoF',
		'a=ice-options:trickle',
		'a=fingerprint:sha-256 CD:CA:62:72:2C:08:19:85:24:D2:31:1E:C4:89:BF:D5:66:88:48:05:C2:8D:4B:23:FB:CA:AE:5A:11:0F:36:4C',
		'a=setup:actpass',
		'a=mid:1',
		'a=extmap:14 urn:ietf:params:rtp-hdrext:toffset',
		'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
		'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
		...direction(video),
		'a=msid:- 6a9514fd-6051-4195-89d8-db0d689877a1',
		'a=rtcp-mux',
		'a=rtcp-rsize',
		'a=rtpmap:96 VP8/90000',
		'a=rtcp-fb:96 goog-remb',
		'a=rtcp-fb:96 transport-cc',
		'a=rtcp-fb:96 ccm fir',
		'a=rtcp-fb:96 nack',
		'a=rtcp-fb:96 nack pli',
		'a=rtpmap:97 rtx/90000',
		'a=fmtp:97 apt=96',
		'a=rtpmap:102 H264/90000',
		'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
		'a=rtpmap:103 rtx/90000',
		'a=fmtp:103 apt=102',
		'a=rtpmap:45 AV1/90000',
		'a=fmtp:45 level-idx=5;profile=0;tier=0',
		'a=rtpmap:46 rtx/90000',
		'a=fmtp:46 apt=45',
		'a=ssrc-group:FID 1829389213 1992667622',
		'a=ssrc:1829389213 cname:VIGaqM5oolkBsoOn',
		'a=ssrc:1829389213 msid:- 6a9514fd-6051-4195-89d8-db0d689877a1',
		'a=ssrc:1992667622 cname:VIGaqM5oolkBsoOn',
		'a=ssrc:1992667622 msid:- 6a9514fd-6051-4195-89d8-db0d689877a1',
	];
	return lines.join(eol) + eol;
}

/** A Chromium offer for a data channel only. */
const DATA_CHANNEL_OFFER = [
	'v=0',
	'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
	's=-',
	't=0 0',
	'a=group:BUNDLE 0',
	'a=extmap-allow-mixed',
	'a=msid-semantic: WMS',
	'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
	'c=IN IP4 0.0.0.0',
	'a=ice-ufrag:Qq1N',
	'a=ice-pwd:0yB5d8nA2bfNgM9zXkH4uDqP',
	'a=ice-options:trickle',
	'a=fingerprint:sha-256 CD:CA:62:72:2C:08:19:85:24:D2:31:1E:C4:89:BF:D5:66:88:48:05:C2:8D:4B:23:FB:CA:AE:5A:11:0F:36:4C',
	'a=setup:actpass',
	'a=mid:0',
	'a=sctp-port:5000',
	'a=max-message-size:262144',
	'',
].join('\r\n');

describe('descriptionSendsMedia()', () => {
	it('a Chromium offer with a camera and a microphone (both sendrecv) sends', () => {
		expect(descriptionSendsMedia(chromiumOffer({}))).toBe(true);
	});

	it('the same offer with both sections recvonly (a viewer receiving) does not send', () => {
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'recvonly' }))).toBe(false);
	});

	it('inactive sections do not send', () => {
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'inactive', video: 'inactive' }))).toBe(false);
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'inactive' }))).toBe(false);
	});

	it('one sending section is enough, whichever it is (first, last, sendonly or sendrecv)', () => {
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'sendrecv' }))).toBe(true);
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'sendonly', video: 'recvonly' }))).toBe(true);
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'inactive', video: 'sendonly' }))).toBe(true);
	});

	it('a media section with no direction attribute sends (sendrecv is the default)', () => {
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: null }))).toBe(true);
		expect(descriptionSendsMedia(chromiumOffer({ audio: null, video: null }))).toBe(true);
	});

	it('a rejected section (port 0) sends nothing, whatever its direction', () => {
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'sendrecv', videoPort: 0 }))).toBe(false);
		// The same section with a live port does send.
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'sendrecv', videoPort: 9 }))).toBe(true);
	});

	it('a media-level direction wins over a session-level one', () => {
		expect(descriptionSendsMedia(chromiumOffer({ session: ['a=recvonly'], audio: 'recvonly', video: 'sendrecv' }))).toBe(true);
		expect(descriptionSendsMedia(chromiumOffer({ session: ['a=sendrecv'], audio: 'recvonly', video: 'recvonly' }))).toBe(false);
		expect(descriptionSendsMedia(chromiumOffer({ session: ['a=inactive'], audio: 'sendonly', video: 'recvonly' }))).toBe(true);
	});

	// Chromium 156 ignores a session-level direction: given such an offer it answers recvonly (it expects media).
	it('a session-level a=recvonly does not make sections without their own direction receive-only', () => {
		expect(descriptionSendsMedia(chromiumOffer({ session: ['a=recvonly'], audio: null, video: null }))).toBe(true);
		expect(descriptionSendsMedia(chromiumOffer({ session: ['a=inactive'], audio: 'recvonly', video: null }))).toBe(true);
	});

	it('two directions in one section: it sends if either does', () => {
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'recvonly\r\na=sendrecv' }))).toBe(true);
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'recvonly\r\na=inactive' }))).toBe(false);
	});

	it('an offer with only an application (data channel) section sends no media', () => {
		expect(descriptionSendsMedia(DATA_CHANNEL_OFFER)).toBe(false);
		expect(descriptionSendsMedia(DATA_CHANNEL_OFFER.replace('a=sctp-port:5000', 'a=sendrecv\r\na=sctp-port:5000'))).toBe(false);
	});

	it('an application section does not hide a sending media section after it', () => {
		const offer = chromiumOffer({ video: 'sendonly' });
		const withVideo = DATA_CHANNEL_OFFER + offer.slice(offer.indexOf('m=video'));
		expect(descriptionSendsMedia(withVideo)).toBe(true);
		expect(descriptionSendsMedia(DATA_CHANNEL_OFFER + offer.slice(offer.indexOf('m=video')).replace('a=sendonly', 'a=recvonly'))).toBe(false);
	});

	it('reads LF-only line endings like CRLF', () => {
		expect(descriptionSendsMedia(chromiumOffer({ eol: '\n' }))).toBe(true);
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'recvonly', eol: '\n' }))).toBe(false);
	});

	it('a direction attribute with trailing spaces is still read (as Chromium reads it)', () => {
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly ', video: 'recvonly ' }))).toBe(false);
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'sendrecv ' }))).toBe(true);
	});

	// Chromium 156 reads "a=recvonly\t" as an unknown attribute (the section stays sendrecv).
	it('a direction attribute followed by anything but spaces is not a direction: the section sends', () => {
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'recvonly\t' }))).toBe(true);
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'recvonlyx' }))).toBe(true);
	});

	// JSEP: port 0 with a=bundle-only is a live bundled section, not a rejected one; Chromium accepts it.
	it('port 0 with a=bundle-only is a live section: sendrecv there sends', () => {
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'sendrecv\r\na=bundle-only', videoPort: 0 }))).toBe(true);
		expect(descriptionSendsMedia(chromiumOffer({ audio: 'recvonly', video: 'recvonly\r\na=bundle-only', videoPort: 0 }))).toBe(false);
	});

	it('no media sections at all, or no SDP, sends nothing', () => {
		expect(descriptionSendsMedia('v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n')).toBe(false);
		expect(descriptionSendsMedia('')).toBe(false);
	});
});
