/**
 * The JSON body parser of the API. Fastify's own refuses a `__proto__` key (and a `constructor` holding a
 * `prototype`) with "Body is not valid JSON", which sends a client looking for a syntax error that is not
 * there. This one refuses the same keys, which can change an object's prototype once code merges or assigns
 * them, and names where the key is (`people.1.__proto__`); a real syntax error says where it is.
 */
import type { FastifyInstance } from 'fastify';

/** A 400 with field details, answered as `invalid_body` by the API's error handler. */
export class BodyRefused extends Error {
  readonly statusCode = 400;
  readonly details: Array<{ field: string; message: string }>;
  constructor(message: string, details: Array<{ field: string; message: string }> = []) {
    super(message);
    this.details = details;
  }
}

const PROTO_MESSAGE = 'a key named __proto__ is refused: it can change the prototype of the objects it is merged into; remove it';
const CONSTRUCTOR_MESSAGE = 'a key named constructor holding a prototype is refused: it can reach the prototype of objects; remove it';

/**
 * Where a parsed JSON value holds a `__proto__` key or a `constructor` object with a `prototype` key, as a
 * dotted path, or undefined. JSON.parse makes such keys plain own properties, so walking them is safe; the
 * walk keeps its own stack, as a body may nest deeper than the call stack goes.
 */
export function poisonedKey(value: unknown): { field: string; message: string } | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop() as { value: unknown; path: string };
    if (current === null || typeof current !== 'object') continue;
    for (const [key, child] of Object.entries(current)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (key === '__proto__') return { field: at, message: PROTO_MESSAGE };
      if (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype')) {
        return { field: at, message: CONSTRUCTOR_MESSAGE };
      }
      stack.push({ value: child, path: at });
    }
  }
  return undefined;
}

/** Parses a JSON body, or throws BodyRefused saying why (empty, not JSON and where, or a poisoning key and where). */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new BodyRefused('the body is empty: send a JSON object, or no content-type');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BodyRefused(`the body is not valid JSON: ${(error as Error).message}`);
  }
  const poisoned = poisonedKey(value);
  if (poisoned !== undefined) throw new BodyRefused(`${poisoned.field}: ${poisoned.message}`, [poisoned]);
  return value;
}

/** Replaces Fastify's JSON parser with parseJsonBody (the server's body limit still applies). */
export function useJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
