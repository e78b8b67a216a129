import type { z } from 'zod';
import { ErrorCode, SignalingError } from './errors.js';
import { MAX_MESSAGE_BYTES, Method, Notification } from './wire.js';
import {
	NotificationEnvelopeSchema,
	RequestEnvelopeSchema,
	ResponseEnvelopeSchema,
	notificationSchemas,
	requestSchemas,
	type NotificationEnvelope,
	type RequestEnvelope,
	type ResponseEnvelope,
	type TypedNotification,
	type TypedRequest,
} from './messages.js';

/** A frame decoded into one of the three envelopes, not yet checked per method. */
export type Envelope =
	| { kind: 'request'; message: RequestEnvelope }
	| { kind: 'response'; message: ResponseEnvelope }
	| { kind: 'notification'; message: NotificationEnvelope };

const methods = new Set<string>(Object.values(Method));
const notifications = new Set<string>(Object.values(Notification));

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(error: z.ZodError): string {
	return error.issues
		.slice(0, 3)
		.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
		.join('; ');
}

/**
 * Decodes one text frame into an envelope. Throws SignalingError with
 * BAD_JSON or BAD_MESSAGE; never anything else.
 */
export function decodeEnvelope(text: string): Envelope {
	// Length in UTF-16 units bounds the byte length from below; the transport
	// enforces the exact byte limit, this keeps JSON.parse cheap regardless.
	if (text.length > MAX_MESSAGE_BYTES) {
		throw new SignalingError(ErrorCode.BadMessage, `message larger than ${MAX_MESSAGE_BYTES} bytes`);
	}
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		throw new SignalingError(ErrorCode.BadJson, 'message is not valid JSON');
	}
	if (!isObject(value)) {
		throw new SignalingError(ErrorCode.BadMessage, 'message must be a JSON object');
	}
	if ('ok' in value) {
		const res = ResponseEnvelopeSchema.safeParse(value);
		if (!res.success) throw new SignalingError(ErrorCode.BadMessage, `bad response: ${describe(res.error)}`);
		return { kind: 'response', message: res.data };
	}
	if ('id' in value) {
		// Every frame a client sends comes here: a well-formed one is taken as it is, without the schema's walk.
		const request = wellFormedRequest(value);
		if (request) return { kind: 'request', message: request };
		const req = RequestEnvelopeSchema.safeParse(value);
		if (!req.success) throw new SignalingError(ErrorCode.BadMessage, `bad request: ${describe(req.error)}`);
		return { kind: 'request', message: req.data };
	}
	const note = NotificationEnvelopeSchema.safeParse(value);
	if (!note.success) throw new SignalingError(ErrorCode.BadMessage, `bad notification: ${describe(note.error)}`);
	return { kind: 'notification', message: note.data };
}

/**
 * The request envelope RequestEnvelopeSchema would make of `value` (the
 * same fields, in the same order, `data` by reference and only when
 * present), when it surely passes: a safe non-negative integer id and a
 * method of 1 to 64 characters. Undefined otherwise: the schema decides,
 * and words the error.
 */
function wellFormedRequest(value: Record<string, unknown>): RequestEnvelope | undefined {
	const { id, method } = value;
	if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return undefined;
	if (typeof method !== 'string' || method.length < 1 || method.length > 64) return undefined;
	return 'data' in value ? { id, method, data: value.data } : { id, method };
}

/** Checks a request's method and payload. Throws UNKNOWN_METHOD or INVALID_DATA. */
export function parseRequest(envelope: RequestEnvelope): TypedRequest {
	if (!methods.has(envelope.method)) {
		throw new SignalingError(ErrorCode.UnknownMethod, `unknown method "${envelope.method}"`);
	}
	const method = envelope.method as Method;
	const parsed = requestSchemas[method].safeParse(envelope.data ?? {});
	if (!parsed.success) {
		throw new SignalingError(ErrorCode.InvalidData, `${method}: ${describe(parsed.error)}`);
	}
	return { id: envelope.id, method, data: parsed.data } as TypedRequest;
}

/** Checks a notification's method and payload. Throws UNKNOWN_METHOD or INVALID_DATA. */
export function parseNotification(envelope: NotificationEnvelope): TypedNotification {
	if (!notifications.has(envelope.method)) {
		throw new SignalingError(ErrorCode.UnknownMethod, `unknown notification "${envelope.method}"`);
	}
	const method = envelope.method as Notification;
	const parsed = notificationSchemas[method].safeParse(envelope.data ?? {});
	if (!parsed.success) {
		throw new SignalingError(ErrorCode.InvalidData, `${method}: ${describe(parsed.error)}`);
	}
	return { method, data: parsed.data } as TypedNotification;
}

/** Checks a response payload against its method's schema. Throws INVALID_DATA. */
export function parseResponseData<S extends z.ZodType>(schema: S, method: string, data: unknown): z.infer<S> {
	const parsed = schema.safeParse(data);
	if (!parsed.success) {
		throw new SignalingError(ErrorCode.InvalidData, `${method} response: ${describe(parsed.error)}`);
	}
	return parsed.data;
}
