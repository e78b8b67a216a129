import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as api from './api.js';
import { UnsupportedSchemaError, arbitraryFor, jsonValueArbitrary } from './arbitraries.js';
import { decodeEnvelope, parseNotification, parseRequest, parseResponseData } from './codec.js';
import { ErrorCode, SignalingError } from './errors.js';
import { RequestEnvelopeSchema, notificationSchemas, requestSchemas, responseSchemas } from './messages.js';
import { Method, Notification, encodeError, encodeNotification, encodeOk, encodeRequest } from './wire.js';

/**
 * Property tests for the codec. The schemas are walked, not listed, so a
 * method or notification added to messages.ts is covered without touching
 * this file; a zod kind the generator does not know fails the test (see
 * arbitraries.ts) rather than being skipped.
 */

const ROUND_TRIP_RUNS = 150;
const FUZZ_RUNS = 300;

const requests: [string, z.ZodType][] = Object.entries(requestSchemas);
const responses: [string, z.ZodType][] = Object.entries(responseSchemas);
const notifications: [string, z.ZodType][] = Object.entries(notificationSchemas);
const apiSchemas = Object.entries(api as Record<string, unknown>).filter((entry): entry is [string, z.ZodType] => entry[1] instanceof z.ZodType);

const requestId = fc.maxSafeNat();

describe('the protocol tables', () => {
	it('give every method a request and a response schema, and every notification a schema', () => {
		expect(Object.keys(requestSchemas).sort()).toEqual(Object.values(Method).sort());
		expect(Object.keys(responseSchemas).sort()).toEqual(Object.values(Method).sort());
		expect(Object.keys(notificationSchemas).sort()).toEqual(Object.values(Notification).sort());
	});
});

describe('every valid message round-trips', () => {
	describe.each(requests)('request %s', (method, schema) => {
		it('decodes to what the schema makes of it', () => {
			fc.assert(
				fc.property(requestId, arbitraryFor(schema, `request ${method}`), (id, data) => {
					const envelope = decodeEnvelope(encodeRequest(id, method, data));
					if (envelope.kind !== 'request') throw new Error(`decoded as a ${envelope.kind}`);
					expect(parseRequest(envelope.message)).toEqual({ id, method, data: schema.parse(data) });
				}),
				{ numRuns: ROUND_TRIP_RUNS },
			);
		});
	});

	describe.each(responses)('response %s', (method, schema) => {
		it('decodes to what the schema makes of it', () => {
			fc.assert(
				fc.property(requestId, arbitraryFor(schema, `response ${method}`), (id, data) => {
					const envelope = decodeEnvelope(encodeOk(id, data));
					if (envelope.kind !== 'response' || !envelope.message.ok) throw new Error(`decoded as ${JSON.stringify(envelope)}`);
					expect(envelope.message.id).toBe(id);
					expect(parseResponseData(schema, method, envelope.message.data)).toEqual(schema.parse(data));
				}),
				{ numRuns: ROUND_TRIP_RUNS },
			);
		});
	});

	describe.each(notifications)('notification %s', (method, schema) => {
		it('decodes to what the schema makes of it', () => {
			fc.assert(
				fc.property(arbitraryFor(schema, `notification ${method}`), (data) => {
					const envelope = decodeEnvelope(encodeNotification(method, data));
					if (envelope.kind !== 'notification') throw new Error(`decoded as a ${envelope.kind}`);
					expect(parseNotification(envelope.message)).toEqual({ method, data: schema.parse(data) });
				}),
				{ numRuns: ROUND_TRIP_RUNS },
			);
		});
	});

	it('error responses carry their code and reason', () => {
		fc.assert(
			fc.property(requestId, fc.constantFrom(...Object.values(ErrorCode)), fc.string({ unit: 'binary', maxLength: 32 }), (id, code, reason) => {
				expect(decodeEnvelope(encodeError(id, code, reason))).toEqual({
					kind: 'response',
					message: { id, ok: false, errorCode: code, errorReason: reason },
				});
			}),
			{ numRuns: ROUND_TRIP_RUNS },
		);
	});

	it('the room API walk finds the room schemas', () => {
		expect(apiSchemas.map(([name]) => name)).toEqual(expect.arrayContaining(['CreateRoomRequestSchema', 'RoomSettingsSchema']));
	});

	describe.each(apiSchemas)('room API %s', (name, schema) => {
		it('survives JSON and parses to what the schema makes of it', () => {
			fc.assert(
				fc.property(arbitraryFor(schema, name), (value) => {
					expect(schema.parse(JSON.parse(JSON.stringify(value)))).toEqual(schema.parse(value));
				}),
				{ numRuns: ROUND_TRIP_RUNS },
			);
		});
	});
});

// ---------------------------------------------------------------- hostile input

const ALL_CODES = new Set<string>(Object.values(ErrorCode));
/** What each step documents it throws ("never anything else"). */
const DECODE_CODES: string[] = [ErrorCode.BadJson, ErrorCode.BadMessage];
const PARSE_CODES: string[] = [ErrorCode.UnknownMethod, ErrorCode.InvalidData];
const RESPONSE_CODES: string[] = [ErrorCode.InvalidData];

/** Runs `fn`; a throw must be a SignalingError with one of `codes`, all of them ErrorCode values. */
function typed<T>(step: string, codes: string[], fn: () => T): T | undefined {
	try {
		return fn();
	} catch (error) {
		if (!(error instanceof SignalingError)) {
			throw new Error(`${step} threw something other than a SignalingError: ${String(error)}`, { cause: error });
		}
		if (!ALL_CODES.has(error.code)) throw new Error(`${step} threw code ${String(error.code)}, not an ErrorCode`, { cause: error });
		if (!codes.includes(error.code)) throw new Error(`${step} threw ${error.code}; it documents only ${codes.join(', ')}`, { cause: error });
		return undefined;
	}
}

/** What a receiving end does with a frame: decode it, then check it for its kind. */
function receive(text: string): void {
	const envelope = typed('decodeEnvelope', DECODE_CODES, () => decodeEnvelope(text));
	if (envelope === undefined) return;
	switch (envelope.kind) {
		case 'request':
			typed('parseRequest', PARSE_CODES, () => parseRequest(envelope.message));
			break;
		case 'notification':
			typed('parseNotification', PARSE_CODES, () => parseNotification(envelope.message));
			break;
		case 'response': {
			const message = envelope.message;
			if (!message.ok) break;
			for (const [method, schema] of responses) {
				typed(`parseResponseData(${method})`, RESPONSE_CODES, () => parseResponseData(schema, method, message.data));
			}
			break;
		}
	}
}

function stringifiable(value: unknown): boolean {
	try {
		return typeof JSON.stringify(value) === 'string';
	} catch {
		return false;
	}
}

/** Any JSON-encodable data: JSON values, and fc.anything() where JSON can carry it (odd keys such as __proto__, -0, undefined). */
const anyData = fc.oneof(jsonValueArbitrary(3), fc.anything({ maxDepth: 3 }).filter(stringifiable));
const names = [...new Set([...Object.values(Method), ...Object.values(Notification)])];
const methodName = fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 70 }));
const anyId = fc.oneof(requestId, fc.integer(), fc.double(), jsonValueArbitrary(1));

type Mutation = { at: number; remove: boolean; value: unknown };

/** Replaces (or removes) the value at the `at`-th place of a valid message: a near miss that reaches deep into its schema. */
function mutate(value: unknown, { at, remove, value: replacement }: Mutation): unknown {
	const places: [Record<string, unknown> | unknown[], string | number][] = [];
	const walk = (v: unknown): void => {
		if (typeof v !== 'object' || v === null) return;
		for (const [k, item] of Object.entries(v)) {
			places.push(Array.isArray(v) ? [v, Number(k)] : [v as Record<string, unknown>, k]);
			walk(item);
		}
	};
	const copy = JSON.parse(JSON.stringify(value ?? null)) as unknown;
	walk(copy);
	const place = places[at % Math.max(places.length, 1)];
	if (place === undefined) return replacement;
	const [parent, key] = place;
	if (remove && !Array.isArray(parent)) delete parent[key as string];
	else (parent as Record<string | number, unknown>)[key] = replacement;
	return copy;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({ at: fc.nat(), remove: fc.boolean(), value: jsonValueArbitrary(1) });

describe('random bytes and random JSON yield a typed error, never a throw', () => {
	const texts: [string, fc.Arbitrary<string>][] = [
		['printable strings', fc.string()],
		['full unicode strings', fc.string({ unit: 'binary' })],
		['control characters', fc.string({ unit: 'binary-ascii' })],
		['random bytes as UTF-8', fc.uint8Array({ maxLength: 64 }).map((bytes) => new TextDecoder().decode(bytes))],
		['JSON values', jsonValueArbitrary(4).map((v) => JSON.stringify(v))],
		['fc.json()', fc.json()],
		[
			'envelope-shaped objects',
			fc
				.record(
					{ id: anyId, method: methodName, ok: fc.oneof(fc.boolean(), jsonValueArbitrary(0)), data: anyData, errorCode: anyData, errorReason: anyData },
					{ requiredKeys: [] },
				)
				.map((v) => JSON.stringify(v)),
		],
	];

	it.each(texts)('%s', (_name, text) => {
		fc.assert(fc.property(text, receive), { numRuns: FUZZ_RUNS });
	});

	it('requests with a real method and arbitrary data', () => {
		fc.assert(
			fc.property(requestId, methodName, anyData, (id, method, data) => receive(encodeRequest(id, method, data))),
			{ numRuns: FUZZ_RUNS },
		);
	});

	it('notifications with a real method and arbitrary data', () => {
		fc.assert(
			fc.property(methodName, anyData, (method, data) => receive(encodeNotification(method, data))),
			{ numRuns: FUZZ_RUNS },
		);
	});

	it('ok responses with arbitrary data, against every response schema', () => {
		fc.assert(
			fc.property(requestId, anyData, (id, data) => receive(encodeOk(id, data))),
			{ numRuns: FUZZ_RUNS },
		);
	});

	describe.each(requests)('near-miss request %s', (method, schema) => {
		it('valid data with one value replaced or removed', () => {
			fc.assert(
				fc.property(requestId, arbitraryFor(schema, `request ${method}`), mutation, (id, data, m) => receive(encodeRequest(id, method, mutate(data, m)))),
				{ numRuns: ROUND_TRIP_RUNS },
			);
		});
	});

	describe.each(notifications)('near-miss notification %s', (method, schema) => {
		it('valid data with one value replaced or removed', () => {
			fc.assert(
				fc.property(arbitraryFor(schema, `notification ${method}`), mutation, (data, m) => receive(encodeNotification(method, mutate(data, m)))),
				{ numRuns: ROUND_TRIP_RUNS },
			);
		});
	});

	describe.each(responses)('near-miss response %s', (method, schema) => {
		it('valid data with one value replaced or removed', () => {
			fc.assert(
				fc.property(requestId, arbitraryFor(schema, `response ${method}`), mutation, (id, data, m) => receive(encodeOk(id, mutate(data, m)))),
				{ numRuns: ROUND_TRIP_RUNS },
			);
		});
	});
});

describe('a request envelope', () => {
	// decodeEnvelope takes a well-formed request without the schema's walk: it must decide, and make, exactly what the schema does.
	it('decodes to what RequestEnvelopeSchema makes of it, or fails as it does', () => {
		const ids = fc.oneof(anyId, fc.constantFrom(-0, -1, 2 ** 53, 2 ** 53 - 1, 1e300, 0.5, '1', null));
		const methods = fc.oneof(methodName, fc.constantFrom('', 'x'.repeat(64), 'x'.repeat(65)), jsonValueArbitrary(0));
		fc.assert(
			fc.property(fc.record({ id: ids, method: methods, data: anyData, extra: anyData }, { requiredKeys: ['id'] }), (value) => {
				const text = JSON.stringify(value);
				const parsed = RequestEnvelopeSchema.safeParse(JSON.parse(text));
				let decoded: ReturnType<typeof decodeEnvelope> | SignalingError;
				try {
					decoded = decodeEnvelope(text);
				} catch (error) {
					decoded = error as SignalingError;
				}
				if (parsed.success) {
					expect(decoded).toStrictEqual({ kind: 'request', message: parsed.data });
					expect(Object.keys((decoded as { message: object }).message)).toEqual(Object.keys(parsed.data));
				} else {
					expect(decoded).toBeInstanceOf(SignalingError);
					expect((decoded as SignalingError).code).toBe(ErrorCode.BadMessage);
				}
			}),
			{ numRuns: FUZZ_RUNS * 3 },
		);
	});
});

describe('arbitraryFor()', () => {
	it('fails loudly, naming the kind and the place, on a zod kind it does not know', () => {
		expect(() => arbitraryFor(z.object({ a: z.bigint() }), 'x')).toThrow(UnsupportedSchemaError);
		expect(() => arbitraryFor(z.object({ a: z.bigint() }), 'x')).toThrow(/zod type "bigint" at x\.a/);
		expect(() => arbitraryFor(z.array(z.date()), 'x')).toThrow(/zod type "date" at x\[\]/);
		expect(() => arbitraryFor(z.email(), 'x')).toThrow(/string format "email"/);
		expect(() => arbitraryFor(z.string().startsWith('a'), 'x')).toThrow(/string check "starts_with"/);
		expect(() => arbitraryFor(z.number().multipleOf(3), 'x')).toThrow(/number check "multiple_of"/);
		expect(() => arbitraryFor(z.lazy(() => z.string()), 'x')).toThrow(/zod type "lazy"/);
	});

	it('generates only values the schema accepts, refinements and trims included', () => {
		const schemas = [
			api.RoomSettingsSchema,
			z.string().trim().min(3).max(5),
			z.string().min(2).max(4).regex(/^[a-c]+$/),
			z.number().int().positive().max(3),
			z.number().gt(0).lt(1),
			z.object({ a: z.string().optional(), b: z.number().default(1) }).strict(),
			z.string().transform((s) => s.length),
		];
		for (const schema of schemas) {
			fc.assert(
				fc.property(arbitraryFor(schema), (value) => {
					expect(schema.safeParse(value).success).toBe(true);
				}),
				{ numRuns: 100 },
			);
		}
	});
});
