import { z } from 'zod';
import { wrongType } from './describe-value.ts';

/** zod's names of the types it expects, as a message says them. */
const NAMED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  bigint: 'a bigint',
  array: 'an array',
  object: 'an object',
  record: 'an object',
  map: 'an object',
  tuple: 'an array',
  date: 'a date',
  null: 'null',
};

const named = (expected: string) => NAMED[expected] ?? `${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`;

/**
 * Messages for the issues of user input, given per parse: `schema.safeParse(input, { error: inputErrors })`.
 * A wrong type says what was expected and what came, by kind only ("expected a string, got an object"),
 * never by converting the value; a union of types lists them ("expected a number or a string, got an
 * object"). Every other issue keeps its schema's message or zod's (neither converts an object). Given per
 * parse, not set with `z.config()`: that would change the messages of an application that embeds the library.
 */
export const inputErrors: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type') return wrongType(named(issue.expected), issue.input);
  if (issue.code === 'invalid_union' && issue.input !== undefined && issue.errors.length > 0) {
    // Every branch refused the value for its type: name the types. A branch that went deeper has its own message.
    const expected = issue.errors.map((branch) =>
      branch.length === 1 && branch[0]?.code === 'invalid_type' && branch[0].path.length === 0 ? branch[0].expected : undefined,
    );
    if (expected.every((e) => e !== undefined)) return wrongType([...new Set(expected.map(named))].join(' or '), issue.input);
  }
  return undefined;
};

/** Why a value that could not even be read was refused (a library caller's getter or proxy threw). */
export const UNREADABLE = 'could not be read (a getter or proxy threw)';

/** The field of an object schema whose value throws when read or checked, or none when the whole value does. */
function unreadablePath(schema: z.ZodType, input: unknown): PropertyKey[] {
  if (!(schema instanceof z.ZodObject)) return [];
  try {
    Object.keys(input as object); // a proxy may refuse even this: then the whole value is unreadable
    for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      try {
        field.safeParse((input as Record<string, unknown>)[key], { error: inputErrors });
      } catch {
        return [key];
      }
    }
  } catch {
    // The value itself cannot be read.
  }
  return [];
}

/**
 * Parses user input with the messages above. JSON cannot make parsing throw, but an object handed to the
 * library can (a getter, a proxy; zod reads `.length` of whatever it is given): that is one refused value,
 * reported like any other with the field that threw, and must not stop the rest of an enqueue.
 */
export function safeParseInput<S extends z.ZodType>(schema: S, input: unknown): z.ZodSafeParseResult<z.output<S>> {
  try {
    return schema.safeParse(input, { error: inputErrors });
  } catch {
    const issue = { code: 'custom' as const, path: unreadablePath(schema, input), message: UNREADABLE, input: undefined };
    return { success: false, error: new z.ZodError([issue]) } as z.ZodSafeParseResult<z.output<S>>;
  }
}
