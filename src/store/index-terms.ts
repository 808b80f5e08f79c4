// SQL terms that let a query use an index of schema 11 (schema.sql) where SQLite would not see
// on its own that it may.

/**
 * Nodes of one kind (a literal kind other than 'doc'; table alias `alias`): `kind = …` and, word
 * for word, the WHERE of the partial index nodes_kind (docs are not in it), which SQLite uses only
 * for a query whose WHERE contains that term.
 */
export function kindSql(alias: string, kind: 'task' | 'project' | 'tag'): string {
  const a = alias === '' ? '' : `${alias}.`;
  return `${a}kind = '${kind}' AND ${a}kind != 'doc'`;
}

/**
 * Links (table alias `alias`) whose source is the SQL expression `src`, of `type` when given (a
 * literal link type). A link's id is `src|type|dst` and node ids never hold '|', so a node's links
 * are the ids in ('src|', 'src}') ('}' is the character after '|'), and its links of one type
 * those in ('src|type|', 'src|type}'): a range of the links table's own key, read instead of an
 * index by source, which every new link wrote an entry to. `src = …` is kept, so the range only
 * narrows.
 */
export function linksFromSql(alias: string, src: string, type?: string): string {
  const a = alias === '' ? '' : `${alias}.`;
  const lo = type === undefined ? `${src} || '|'` : `${src} || '|${type}|'`;
  const hi = type === undefined ? `${src} || '}'` : `${src} || '|${type}}'`;
  return `${a}id > ${lo} AND ${a}id < ${hi} AND ${a}src = ${src}`;
}
