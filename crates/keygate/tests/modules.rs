//! The top-level modules of `crates/keygate/src` form no cycle: each uses (names as `crate::…`)
//! only modules below it, so a reader can take them in order, from `cli` down to `metrics`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Every `.rs` file under `path` (or `path` itself), with its text.
fn sources(path: &Path, out: &mut Vec<String>) {
    if path.is_dir() {
        for entry in fs::read_dir(path).expect("read source directory") {
            sources(&entry.expect("directory entry").path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(fs::read_to_string(path).expect("read source file"));
    }
}

/// The top-level modules each top-level module names through `crate::`.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = fs::read_dir(src)
        .expect("read src")
        .map(|e| e.expect("directory entry").path())
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .filter(|name| name != "lib" && name != "main")
        .collect();
    modules
        .iter()
        .map(|module| {
            let file = src.join(format!("{module}.rs"));
            let root = if file.exists() {
                file
            } else {
                src.join(module)
            };
            let mut texts = Vec::new();
            sources(&root, &mut texts);
            let used = texts
                .iter()
                .flat_map(|text| text.match_indices("crate::").map(|(at, _)| &text[at + 7..]))
                .map(|rest| {
                    rest.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect::<String>()
                })
                .filter(|name| name != module && modules.contains(name))
                .collect();
            (module.clone(), used)
        })
        .collect()
}

/// A cycle through `from`, as the path of modules that closes it.
fn cycle_from(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|m| m == from) {
        let mut cycle = path[at..].to_vec();
        cycle.push(from.to_owned());
        return Some(cycle);
    }
    path.push(from.to_owned());
    for next in graph.get(from).into_iter().flatten() {
        if let Some(cycle) = cycle_from(graph, next, path) {
            return Some(cycle);
        }
    }
    path.pop();
    None
}

#[test]
fn top_level_modules_use_each_other_without_a_cycle() {
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(
        graph.contains_key("http") && graph.contains_key("service"),
        "the modules were read: {graph:?}"
    );
    for module in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, module, &mut Vec::new()) {
            panic!(
                "top-level modules use each other in a cycle: {}\n(the whole graph: {graph:?})",
                cycle.join(" -> ")
            );
        }
    }
}
