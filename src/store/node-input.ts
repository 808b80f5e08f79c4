// Checks of node inputs and patches at the store's entry points: every field is validated with
// the same rules that ops from other replicas are held to, and errors name the field.

import { invalid } from '../core/errors.js';
import { isKnownField, TASK_FIELDS, validateFieldValue } from '../core/fields.js';
import { isNodeId, isNodeKind, isUlid, kindOfDeterministicId, type NodeKind } from '../core/ids.js';
import { isPlainObject } from '../core/json.js';
import type { NodeInput, NodePatch } from '../ports/store.js';

export const MAX_BODY = 16 * 1024 * 1024;

export function checkPatch(
  kind: NodeKind,
  input: unknown,
  allow: readonly string[] = [],
): NodePatch {
  if (!isPlainObject(input)) throw invalid('params', 'must be an object');
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || allow.includes(key)) continue;
    if (key === 'body') {
      if (typeof value !== 'string') throw invalid('body', 'must be a string');
      if (value.length > MAX_BODY) throw invalid('body', `must be at most ${MAX_BODY} characters`);
      continue;
    }
    if (key === 'base_version') {
      if (typeof value !== 'string') throw invalid('base_version', 'must be a body_version string');
      if (input.body === undefined) throw invalid('base_version', 'goes with a body to save');
      continue;
    }
    if (key === 'extra') {
      if (!isPlainObject(value)) throw invalid('extra', 'must be an object of fields');
      for (const [f, v] of Object.entries(value)) {
        if (isKnownField(f)) throw invalid(`extra.${f}`, 'is a known field; set it directly');
        const msg = validateFieldValue(f, v);
        if (msg) throw invalid(`extra.${f}`, msg);
      }
      continue;
    }
    if (!isKnownField(key) || key === 'kind' || key === 'deleted')
      throw invalid(key, 'is not a field that can be set here');
    if ((TASK_FIELDS as readonly string[]).includes(key) && kind !== 'task') {
      throw invalid(key, `is a task field; this node is a ${kind}`);
    }
    const msg = validateFieldValue(key, value);
    if (msg) throw invalid(key, msg);
  }
  return input;
}

/** Validates a create request; returns the deterministic id it names, if any. */
export function checkCreate(input: unknown): { input: NodeInput; id: string | undefined } {
  if (!isPlainObject(input)) throw invalid('params', 'must be an object');
  if (!isNodeKind(input.kind))
    throw invalid('kind', 'must be one of doc, task, project, tag, journal');
  const kind = input.kind;
  checkPatch(kind, input, ['kind', 'id']);
  const id = input.id;
  if (id === undefined) {
    if (kind === 'tag' || kind === 'journal')
      throw invalid('id', `a ${kind} has a deterministic id (${kind}:…); give it`);
    return { input: input as unknown as NodeInput, id: undefined };
  }
  if (typeof id !== 'string' || !isNodeId(id) || isUlid(id)) {
    throw invalid('id', 'only deterministic ids (tag:…, journal:…, log:…, prefix:…) may be given');
  }
  const implied = kindOfDeterministicId(id);
  if (implied && implied !== kind) throw invalid('id', `a ${implied} id cannot name a ${kind}`);
  if (!implied && (kind === 'tag' || kind === 'journal'))
    throw invalid('id', `a ${kind} needs a ${kind}: id`);
  return { input: input as unknown as NodeInput, id };
}
