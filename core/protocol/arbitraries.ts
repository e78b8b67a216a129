import fc from 'fast-check';
import { z } from 'zod';

/**
 * Test-only: turns a zod 4 schema into a fast-check arbitrary of values the
 * schema accepts, by walking `schema._zod.def`. It covers the zod kinds and
 * checks the protocol uses; anything else throws UnsupportedSchemaError at
 * construction time (naming the kind and where it sits) instead of quietly
 * generating too little.
 *
 * Generated values are JSON-safe where the schema allows it: `unknown` is a
 * JSON value, numbers are never NaN, ±Infinity or -0 (JSON has no -0: it
 * arrives as 0, which is not a codec fault). Strings and arrays are kept
 * short so a property run stays fast.
 */

/** Thrown for a zod kind or check the converter does not know. */
export class UnsupportedSchemaError extends Error {
	constructor(what: string, path: string) {
		super(`arbitraryFor: unsupported ${what} at ${path}; extend core/protocol/arbitraries.ts`);
		this.name = 'UnsupportedSchemaError';
	}
}

/** Caps that keep generated values small. */
const MAX_STRING_UNITS = 16;
const MAX_ARRAY_LENGTH = 3;
const MAX_EXTRA_KEYS = 2;
const MAX_JSON_DEPTH = 2;

type Schema = z.core.$ZodType;
type Arb = fc.Arbitrary<unknown>;

/** The fields of the checks read here (zod's check defs, loosely). */
interface CheckDef {
	check: string;
	format?: string;
	pattern?: RegExp;
	minimum?: number;
	maximum?: number;
	length?: number;
	value?: number | bigint;
	inclusive?: boolean;
}

function checksOf(schema: Schema): CheckDef[] {
	return (schema._zod.def.checks ?? []).map((c) => c._zod.def as CheckDef);
}

/** Whether a check can only be honoured by filtering with the schema itself. */
function isFilterCheck(check: CheckDef): boolean {
	return check.check === 'custom' || check.check === 'overwrite';
}

function valid(schema: Schema): (value: unknown) => boolean {
	return (value) => z.safeParse(schema, value).success;
}

/** A JSON value that survives JSON.stringify + JSON.parse unchanged (no -0, plain objects). */
export function jsonValueArbitrary(maxDepth = MAX_JSON_DEPTH): fc.Arbitrary<unknown> {
	return fc.jsonValue({ maxDepth }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
}

/** Whitespace that String.prototype.trim removes. */
const whitespace = fc.constantFrom(' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\ufeff');

function stringArbitrary(schema: Schema, path: string): Arb {
	const def = schema._zod.def as z.core.$ZodStringDef & { format?: string };
	if (def.format !== undefined) throw new UnsupportedSchemaError(`string format "${def.format}"`, path);
	let min = 0;
	let max = Number.POSITIVE_INFINITY;
	const patterns: RegExp[] = [];
	let needsFilter = false;
	for (const check of checksOf(schema)) {
		switch (check.check) {
			case 'min_length':
				min = Math.max(min, check.minimum ?? 0);
				break;
			case 'max_length':
				max = Math.min(max, check.maximum ?? max);
				break;
			case 'length_equals':
				min = Math.max(min, check.length ?? 0);
				max = Math.min(max, check.length ?? max);
				break;
			case 'string_format':
				if (check.format !== 'regex' || check.pattern === undefined) {
					throw new UnsupportedSchemaError(`string check "${check.format ?? '?'}"`, path);
				}
				patterns.push(check.pattern);
				break;
			case 'overwrite': // trim() and friends
			case 'custom': // refine()
				needsFilter = true;
				break;
			default:
				throw new UnsupportedSchemaError(`string check "${check.check}"`, path);
		}
	}
	if (min > max) throw new UnsupportedSchemaError(`string with min length ${min} > max length ${max}`, path);
	// Lengths in fast-check count units (code points here), zod counts UTF-16
	// code units: generate by units and keep what fits.
	const cap = Math.min(max, Math.max(min, MAX_STRING_UNITS));
	let arb: fc.Arbitrary<string>;
	const [first, ...rest] = patterns;
	if (first !== undefined) {
		arb = fc.stringMatching(first, { maxLength: Math.max(cap, min) });
		needsFilter ||= rest.length > 0;
	} else {
		const units = { minLength: min, maxLength: cap };
		arb = fc.oneof(fc.string(units), fc.string({ ...units, unit: 'binary' }));
	}
	if (needsFilter) {
		// An overwrite is usually trim(): pad with whitespace sometimes so it has work to do.
		const padded = fc.tuple(whitespace, arb, whitespace).map(([a, s, b]) => a + s + b);
		return fc.oneof(arb, padded).filter(valid(schema));
	}
	return arb.filter((s) => s.length >= min && s.length <= max);
}

const INT_FORMATS: Record<string, [number, number]> = {
	safeint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
	int32: [-(2 ** 31), 2 ** 31 - 1],
	uint32: [0, 2 ** 32 - 1],
};

function numberArbitrary(schema: Schema, path: string): Arb {
	const def = schema._zod.def as z.core.$ZodNumberDef & { format?: string };
	let format = def.format ?? 'float64';
	let lo = -Number.MAX_VALUE;
	let loIncl = true;
	let hi = Number.MAX_VALUE;
	let hiIncl = true;
	let needsFilter = false;
	for (const check of checksOf(schema)) {
		switch (check.check) {
			case 'number_format':
				format = check.format ?? format;
				break;
			case 'greater_than': {
				const v = Number(check.value);
				if (v > lo || (v === lo && !check.inclusive)) [lo, loIncl] = [v, check.inclusive ?? true];
				break;
			}
			case 'less_than': {
				const v = Number(check.value);
				if (v < hi || (v === hi && !check.inclusive)) [hi, hiIncl] = [v, check.inclusive ?? true];
				break;
			}
			case 'custom':
				needsFilter = true;
				break;
			default:
				throw new UnsupportedSchemaError(`number check "${check.check}"`, path);
		}
	}
	let arb: Arb;
	const ints = INT_FORMATS[format];
	if (ints !== undefined) {
		const min = Math.max(ints[0], loIncl ? Math.ceil(lo) : Math.floor(lo) + 1);
		const max = Math.min(ints[1], hiIncl ? Math.floor(hi) : Math.ceil(hi) - 1);
		if (min > max) throw new UnsupportedSchemaError(`empty integer range [${min}, ${max}]`, path);
		arb = fc.integer({ min, max });
	} else if (format === 'float64') {
		arb = fc
			.double({ min: lo, minExcluded: !loIncl, max: hi, maxExcluded: !hiIncl, noNaN: true, noDefaultInfinity: true })
			.map((n) => (Object.is(n, -0) ? 0 : n));
	} else {
		throw new UnsupportedSchemaError(`number format "${format}"`, path);
	}
	return needsFilter ? arb.filter(valid(schema)) : arb;
}

/** [min, max] from an array's length checks, capped. */
function lengthRange(schema: Schema, path: string, kind: string): { minLength: number; maxLength: number; needsFilter: boolean } {
	let min = 0;
	let max = Number.POSITIVE_INFINITY;
	let needsFilter = false;
	for (const check of checksOf(schema)) {
		if (check.check === 'min_length') min = Math.max(min, check.minimum ?? 0);
		else if (check.check === 'max_length') max = Math.min(max, check.maximum ?? max);
		else if (check.check === 'length_equals') [min, max] = [check.length ?? 0, check.length ?? 0];
		else if (isFilterCheck(check)) needsFilter = true;
		else throw new UnsupportedSchemaError(`${kind} check "${check.check}"`, path);
	}
	if (min > max) throw new UnsupportedSchemaError(`${kind} with min length ${min} > max length ${max}`, path);
	return { minLength: min, maxLength: Math.min(max, Math.max(min, MAX_ARRAY_LENGTH)), needsFilter };
}

/** Only refine()-style checks are understood on kinds without checks of their own. */
function filterChecks(schema: Schema, path: string, kind: string, arb: Arb): Arb {
	let needsFilter = false;
	for (const check of checksOf(schema)) {
		if (isFilterCheck(check)) needsFilter = true;
		else throw new UnsupportedSchemaError(`${kind} check "${check.check}"`, path);
	}
	return needsFilter ? arb.filter(valid(schema)) : arb;
}

function objectArbitrary(schema: Schema, path: string): Arb {
	const def = schema._zod.def as z.core.$ZodObjectDef;
	const model: Record<string, Arb> = {};
	const requiredKeys: string[] = [];
	for (const [key, field] of Object.entries(def.shape)) {
		model[key] = convert(field, `${path}.${key}`);
		// optional(), default(), ...: the key may be left out.
		if (field._zod.optin === undefined) requiredKeys.push(key);
	}
	const known = fc.record(model, { requiredKeys, noNullPrototype: true });
	// Unknown keys: the catchall's values (looseObject: unknown), none for
	// strictObject (catchall never), and for a plain (stripping) object a few
	// JSON values that the schema drops.
	const catchall = def.catchall;
	if (catchall !== undefined && catchall._zod.def.type === 'never') return known;
	const extraValue = catchall === undefined ? jsonValueArbitrary(1) : convert(catchall, `${path}[catchall]`);
	const keys = new Set(Object.keys(def.shape));
	// Up to 10 characters: fast-check then also tries keys such as "__proto__" and "constructor".
	const extraKey = fc.string({ maxLength: 10 }).filter((k) => !keys.has(k));
	const extra = fc.oneof(
		{ weight: 2, arbitrary: fc.constant({}) },
		{ weight: 1, arbitrary: fc.dictionary(extraKey, extraValue, { minKeys: 1, maxKeys: MAX_EXTRA_KEYS, noNullPrototype: true }) },
	);
	return fc.tuple(known, extra).map(([k, e]) => ({ ...e, ...k }));
}

function recordArbitrary(schema: Schema, path: string): Arb {
	const def = schema._zod.def as z.core.$ZodRecordDef;
	if (def.keyType._zod.def.type !== 'string') {
		throw new UnsupportedSchemaError(`record key type "${def.keyType._zod.def.type}"`, `${path}[key]`);
	}
	const key = convert(def.keyType, `${path}[key]`) as fc.Arbitrary<string>;
	const value = convert(def.valueType, `${path}[value]`);
	return fc.dictionary(key, value, { maxKeys: MAX_EXTRA_KEYS + 1, noNullPrototype: true });
}

function primitiveValues(schema: Schema, path: string, kind: string): unknown[] {
	const values = [...(schema._zod.values ?? [])];
	if (values.length === 0) throw new UnsupportedSchemaError(`${kind} without values`, path);
	return values;
}

function convert(schema: Schema, path: string): Arb {
	const def = schema._zod.def;
	switch (def.type) {
		case 'string':
			return stringArbitrary(schema, path);
		case 'number':
			return numberArbitrary(schema, path);
		case 'boolean':
			return filterChecks(schema, path, 'boolean', fc.boolean());
		case 'null':
			return fc.constant(null);
		case 'unknown':
		case 'any':
			return filterChecks(schema, path, def.type, jsonValueArbitrary());
		case 'enum':
		case 'literal':
			return filterChecks(schema, path, def.type, fc.constantFrom(...primitiveValues(schema, path, def.type)));
		case 'object':
			return filterChecks(schema, path, 'object', objectArbitrary(schema, path));
		case 'record':
			return filterChecks(schema, path, 'record', recordArbitrary(schema, path));
		case 'array': {
			const { element } = def as z.core.$ZodArrayDef;
			const { minLength, maxLength, needsFilter } = lengthRange(schema, path, 'array');
			const arb = fc.array(convert(element, `${path}[]`), { minLength, maxLength });
			return needsFilter ? arb.filter(valid(schema)) : arb;
		}
		case 'tuple': {
			const { items, rest } = def as z.core.$ZodTupleDef;
			const head = fc.tuple(...items.map((item, i) => convert(item, `${path}[${i}]`)));
			const tail = rest === null ? fc.constant([]) : fc.array(convert(rest, `${path}[...]`), { maxLength: MAX_ARRAY_LENGTH });
			const arb = fc.tuple(head, tail).map(([h, r]) => [...h, ...r]);
			return filterChecks(schema, path, 'tuple', arb);
		}
		case 'union': {
			const { options, inclusive } = def as z.core.$ZodUnionDef & { discriminator?: string };
			if (options.length === 0) throw new UnsupportedSchemaError('union without options', path);
			const arb = fc.oneof(...options.map((option, i) => convert(option, `${path}|${i}`)));
			// z.xor(): exactly one option may match.
			return filterChecks(schema, path, 'union', inclusive === false ? arb.filter(valid(schema)) : arb);
		}
		case 'optional':
			return fc.option(convert((def as z.core.$ZodOptionalDef).innerType, path), { nil: undefined });
		case 'nullable':
			return fc.option(convert((def as z.core.$ZodNullableDef).innerType, path), { nil: null });
		case 'default':
		case 'prefault':
			// Left out (undefined), the schema fills the default in.
			return fc.option(convert((def as z.core.$ZodDefaultDef).innerType, path), { nil: undefined });
		case 'readonly':
		case 'catch':
			return convert((def as z.core.$ZodReadonlyDef).innerType, path);
		case 'nonoptional':
			return convert((def as z.core.$ZodNonOptionalDef).innerType, path).filter((v) => v !== undefined);
		case 'pipe': {
			// Generate what the input side accepts; keep what the whole pipe (transform, out side) accepts.
			const { in: input } = def as z.core.$ZodPipeDef;
			return convert(input, `${path}(pipe in)`).filter(valid(schema));
		}
		default:
			throw new UnsupportedSchemaError(`zod type "${def.type}"`, path);
	}
}

/**
 * An arbitrary of inputs the schema accepts. `name` labels the schema in
 * UnsupportedSchemaError messages (e.g. "request join").
 */
export function arbitraryFor<S extends z.core.$ZodType>(schema: S, name = 'schema'): fc.Arbitrary<z.input<S>> {
	return convert(schema, name) as fc.Arbitrary<z.input<S>>;
}
