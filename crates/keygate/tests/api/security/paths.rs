//! Forward-auth path tricks: `..;`, path parameters and encoded `%` in captured segments.
