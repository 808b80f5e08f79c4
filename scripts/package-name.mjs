// The package an import specifier names: `zod` for `zod/v4`, `@napi-rs/keyring` for a scoped one.
// Shared by the bundle scripts.

/** @param {string} spec */
export const packageName = (spec) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
