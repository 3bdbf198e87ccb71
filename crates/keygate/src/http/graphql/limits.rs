//! Bounds on what one GraphQL request may ask, checked before any work is done for it.
//!
//! async-graphql's parser recurses once per nested value (`[[[…]]]`, `{a: {b: …}}`) with no
//! limit of its own, so a few kilobytes of brackets would overflow the stack and take the process
//! down. Nesting is therefore counted on the raw text, which costs no recursion, before the
//! parser sees it; aliases, which would let one request repeat an expensive field many times,
//! are counted on the parsed document. Depth and complexity (with list sizes) are the schema's
//! own limits (`super::schema`).

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

/// Deepest nesting of brackets (`{`, `[`, `(`) a document may have. GraphiQL's introspection
/// query needs 15; selection depth alone is capped lower, at `MAX_DEPTH`.
pub const MAX_NESTING: usize = 64;
/// Most aliased fields in one document.
pub const MAX_ALIASES: usize = 30;

/// `Err` with a message when the document nests brackets deeper than [`MAX_NESTING`]. Brackets
/// inside strings, block strings and comments do not count. Linear in the length and without
/// recursion, whatever the input.
pub fn check_nesting(query: &str) -> Result<(), String> {
    let bytes = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped delimiter inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "the document nests deeper than {MAX_NESTING} levels of brackets"
                    ));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// How many fields of a document carry an alias, stopping once past [`MAX_ALIASES`].
fn aliases(document: &ExecutableDocument) -> usize {
    // An explicit stack: selection sets are nested, and the walk must not recurse either.
    let mut stack: Vec<&SelectionSet> = Vec::new();
    for (_, op) in document.operations.iter() {
        stack.push(&op.node.selection_set.node);
    }
    for fragment in document.fragments.values() {
        stack.push(&fragment.node.selection_set.node);
    }
    let mut count = 0;
    while let Some(set) = stack.pop() {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    if field.node.alias.is_some() {
                        count += 1;
                        if count > MAX_ALIASES {
                            return count;
                        }
                    }
                    stack.push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    stack.push(&fragment.node.selection_set.node);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    count
}

/// The schema extension that applies these bounds to every request, whichever way it arrives.
pub struct RequestLimits;

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLimitsExtension)
    }
}

struct RequestLimitsExtension;

#[async_trait::async_trait]
impl Extension for RequestLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        check_nesting(query).map_err(|message| ServerError::new(message, None))?;
        let document = next.run(ctx, query, variables).await?;
        if aliases(&document) > MAX_ALIASES {
            return Err(ServerError::new(
                format!("the document is too complex: more than {MAX_ALIASES} aliased fields"),
                None,
            ));
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_outside_strings_and_comments() {
        let deep = |n: usize| format!("{{ a(x: {}1{}) }}", "[".repeat(n), "]".repeat(n));
        // `{` and `(` take two levels.
        assert!(check_nesting(&deep(MAX_NESTING - 2)).is_ok());
        assert!(check_nesting(&deep(MAX_NESTING - 1)).is_err());
        assert!(check_nesting(&deep(100_000)).is_err());
        let quoted = format!("{{ a(x: \"{}\") }}", "[".repeat(1000));
        assert!(check_nesting(&quoted).is_ok());
        let block = format!(
            "{{ a(x: \"\"\"{}\\\"\"\"{}\"\"\") }}",
            "[".repeat(500),
            "{".repeat(500)
        );
        assert!(check_nesting(&block).is_ok());
        let comment = format!("{{ a # {}\n }}", "(".repeat(1000));
        assert!(check_nesting(&comment).is_ok());
        // An escaped quote does not end a string.
        let escaped = format!("{{ a(x: \"\\\"{}\") }}", "[".repeat(1000));
        assert!(check_nesting(&escaped).is_ok());
    }

    #[test]
    fn nesting_check_never_panics_on_ragged_input() {
        for input in [
            "\"",
            "\"\"\"",
            "\"\\",
            "#",
            "]]]]",
            "\"\"\"\\\"\"\"",
            "\u{feff}{",
        ] {
            let _ = check_nesting(input);
        }
    }

    #[test]
    fn aliases_are_counted_in_operations_and_fragments() {
        let many = (0..=MAX_ALIASES)
            .map(|i| format!("a{i}: user {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ");
        let doc = async_graphql::parser::parse_query(format!("{{ {many} }}")).expect("parses");
        assert!(aliases(&doc) > MAX_ALIASES);
        let doc = async_graphql::parser::parse_query(
            "query { ...F } fragment F on Query { x: user { y: id } }",
        )
        .expect("parses");
        assert_eq!(aliases(&doc), 2);
    }
}
