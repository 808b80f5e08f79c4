// A task and its context doc are one item (docs/model.md, "A task is one thing"). A doc is a
// task's context doc when a task links it `canonical-context` (a live link); the task with the
// lowest such link id is its task. These SQL pieces say so for every reader, so the rule is a
// function of the materialized nodes and links, and so of the op set:
// - the doc's title is its task's title (its own title register is kept, never shown, and never
//   listed as a conflict);
// - lists, name lookup, search and the conflict list show the task, never the doc on its own.
// Each piece is a correlated subquery on a node row `n` answered from the partial index
// links_dst (dst, type) WHERE live = 1.

/** The title of the task whose context doc `n` is (NULL when it is none). */
export const CONTEXT_TASK_TITLE = `(SELECT t.title FROM links l JOIN nodes t ON t.id = l.src
  WHERE l.dst = n.id AND l.type = 'canonical-context' AND l.live = 1 AND t.kind = 'task'
  ORDER BY l.id LIMIT 1)`;

/** The title a reader sees: a context doc's is its task's. */
export const SHOWN_TITLE = `CASE WHEN n.kind = 'doc' THEN coalesce(${CONTEXT_TASK_TITLE}, n.title)
  ELSE n.title END`;

/** True for a row that is a task's context doc. */
export const IS_CONTEXT_DOC = `(n.kind = 'doc' AND EXISTS (SELECT 1 FROM links l
  JOIN nodes t ON t.id = l.src WHERE l.dst = n.id AND l.type = 'canonical-context'
  AND l.live = 1 AND t.kind = 'task'))`;
