//! Bounds on what one GraphQL request may ask, checked before any work is done for it.
//!
//! async-graphql's parser recurses once per nested value (`[[[…]]]`, `{a: {b: …}}`) with no
//! limit of its own, so a few kilobytes of brackets would overflow the stack and take the process
//! down. Nesting is therefore counted on the raw text, which costs no recursion, before the
//! parser sees it. On the parsed document, before async-graphql walks it: aliases, which would
//! let one request repeat an expensive field many times, and the size of the document once every
//! fragment spread is replaced by its fragment, since async-graphql's own checks expand each
//! spread anew, and fragments that each spread the next twice grow exponentially in a few hundred
//! bytes. Depth and complexity (with list sizes) are the schema's own limits (`super::schema`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Request, ServerError, ServerResult};

/// Deepest nesting of brackets (`{`, `[`, `(`) a document may have. GraphiQL's introspection
/// query needs 15; selection depth alone is capped lower, at `MAX_DEPTH`.
pub const MAX_NESTING: usize = 64;
/// Most aliased fields in one document.
pub const MAX_ALIASES: usize = 30;
/// Most selections (fields, inline fragments and fragment spreads) a document's operations may
/// hold once every fragment spread is replaced by its fragment. Each field costs at least 1 of
/// the schema's complexity, so a document past this could never run anyway. GraphiQL's
/// introspection query holds a few hundred.
pub const MAX_SELECTIONS: u64 = super::MAX_COMPLEXITY as u64;

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

/// The selections a set holds itself, with those of its fields and inline fragments, and the
/// fragments it spreads (once per spread).
fn own_selections(set: &SelectionSet) -> (u64, Vec<&Name>) {
    let mut stack = vec![set];
    let mut count = 0u64;
    let mut spreads = Vec::new();
    while let Some(set) = stack.pop() {
        for selection in &set.items {
            count += 1;
            match &selection.node {
                Selection::Field(field) => stack.push(&field.node.selection_set.node),
                Selection::InlineFragment(fragment) => {
                    stack.push(&fragment.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => spreads.push(&spread.node.fragment_name.node),
            }
        }
    }
    (count, spreads)
}

/// How many selections the document's operations hold with every fragment spread expanded,
/// counting each fragment once and saturating past [`MAX_SELECTIONS`]; `Err` names a fragment
/// that spreads itself, directly or through others. Linear in the document, without recursion.
fn expanded_selections(document: &ExecutableDocument) -> Result<u64, String> {
    let fragments: HashMap<&Name, (u64, Vec<&Name>)> = document
        .fragments
        .iter()
        .map(|(name, fragment)| (name, own_selections(&fragment.node.selection_set.node)))
        .collect();
    // A fragment's expanded size: its own selections and, for each spread, its fragment's.
    let mut sizes: HashMap<&Name, u64> = HashMap::new();
    for start in fragments.keys() {
        if sizes.contains_key(start) {
            continue;
        }
        // Depth-first, children before parents; a fragment met again while open is a cycle.
        let mut open: Vec<(&Name, usize)> = vec![(start, 0)];
        let mut on_path: HashSet<&Name> = HashSet::from([*start]);
        while let Some(&(name, next)) = open.last() {
            let (own, spreads) = &fragments[name];
            match spreads[next..]
                .iter()
                .position(|s| fragments.contains_key(s) && !sizes.contains_key(s))
            {
                Some(at) => {
                    let child = spreads[next + at];
                    if !on_path.insert(child) {
                        return Err(format!("the fragment `{child}` spreads itself"));
                    }
                    if let Some(top) = open.last_mut() {
                        top.1 = next + at;
                    }
                    open.push((child, 0));
                }
                None => {
                    let size = spreads
                        .iter()
                        .filter_map(|s| sizes.get(s))
                        .fold(*own, |total, size| total.saturating_add(*size))
                        .min(MAX_SELECTIONS + 1);
                    sizes.insert(name, size);
                    on_path.remove(name);
                    open.pop();
                }
            }
        }
    }
    let total = document
        .operations
        .iter()
        .map(|(_, op)| {
            let (own, spreads) = own_selections(&op.node.selection_set.node);
            spreads
                .iter()
                .filter_map(|s| sizes.get(s))
                .fold(own, |total, size| total.saturating_add(*size))
        })
        .fold(0u64, u64::saturating_add);
    Ok(total.min(MAX_SELECTIONS + 1))
}

/// `Err` with a message when the parsed document has too many aliases, spreads a fragment into
/// itself, or grows past [`MAX_SELECTIONS`] once its fragments are expanded.
fn check_document(document: &ExecutableDocument) -> Result<(), String> {
    if aliases(document) > MAX_ALIASES {
        return Err(format!(
            "the document is too complex: more than {MAX_ALIASES} aliased fields"
        ));
    }
    if expanded_selections(document)? > MAX_SELECTIONS {
        return Err(format!(
            "the document is too complex: more than {MAX_SELECTIONS} selections once its \
             fragments are expanded"
        ));
    }
    Ok(())
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
    /// Checks the text, parses it once and checks the document, all before async-graphql's own
    /// checks walk it; the parsed document is kept for the request, so it is not parsed again.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        check_nesting(&request.query).map_err(|message| ServerError::new(message, None))?;
        check_document(request.parsed_query()?)
            .map_err(|message| ServerError::new(message, None))?;
        next.run(ctx, request).await
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
    fn document(text: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(text).expect("parses")
    }

    #[test]
    fn selections_are_counted_with_every_spread_expanded() {
        let doc = document("query { ...F ...F a } fragment F on Query { b c { d } }");
        // `a`, two spreads, and three selections in each of them.
        assert_eq!(expanded_selections(&doc), Ok(9));
        // Inline fragments count, and so do the selections inside them.
        let doc = document("{ ... on Query { a b } }");
        assert_eq!(expanded_selections(&doc), Ok(3));
        // A spread of an unknown fragment counts once (validation refuses it later).
        let doc = document("{ ...Missing }");
        assert_eq!(expanded_selections(&doc), Ok(1));
    }

    #[test]
    fn fragments_that_double_at_each_level_are_refused() {
        let mut text = String::from("query { ...F0 }");
        for level in 0..64 {
            let next = level + 1;
            text.push_str(&format!(
                " fragment F{level} on Query {{ ...F{next} ...F{next} }}"
            ));
        }
        text.push_str(" fragment F64 on Query { a }");
        let doc = document(&text);
        assert_eq!(expanded_selections(&doc), Ok(MAX_SELECTIONS + 1));
        assert!(check_document(&doc).is_err_and(|m| m.contains("expanded")));
    }

    #[test]
    fn fragments_that_spread_themselves_are_refused() {
        for text in [
            "query { a } fragment A on Query { ...A }",
            "query { ...A } fragment A on Query { ...B } fragment B on Query { c ...A }",
            "query { ...A } fragment A on Query { ...B ...C } fragment B on Query { d } \
             fragment C on Query { ...B ...A }",
        ] {
            let got = expanded_selections(&document(text));
            assert!(got.is_err_and(|m| m.contains("spreads itself")), "{text}");
        }
        // A fragment spread from two places is no cycle.
        let doc = document(
            "query { ...A ...B } fragment A on Query { ...C } fragment B on Query { ...C } \
             fragment C on Query { d }",
        );
        assert_eq!(expanded_selections(&doc), Ok(6));
    }

    #[test]
    fn graphiql_introspection_expands_far_below_the_limit() {
        let doc = document(include_str!(
            "../../../tests/api/security/introspection.graphql"
        ));
        let size = expanded_selections(&doc).expect("no cycle");
        assert!(size < MAX_SELECTIONS / 10, "{size}");
    }
}
