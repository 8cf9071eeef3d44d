//! The module graph reads top-down (design.md, Architecture; `src/lib.rs`): leaf helpers, then
//! the files and the network, the pipeline, the operations, and the CLI on top. These tests read
//! every `crate::x` path in `src/` (outside comments and unit tests) and fail on an import
//! cycle among the library's top-level modules, on an import that points up a layer, on a new
//! module nobody placed in a layer, and on an operation that prints or reads the environment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::{rust_files, src};

/// The layers, bottom first. A module may import its own layer (no cycle allowed) and the ones
/// below, never one above.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaf helpers",
        &[
            "build_info",
            "card",
            "codes",
            "env",
            "explain",
            "fsutil",
            "hash",
            "pattern",
            "repo",
            "report",
            "scan",
        ],
    ),
    (
        "files and the network",
        &[
            "blobstore",
            "config",
            "download",
            "hub",
            "lock",
            "manifest",
            "schema",
            "store",
            "xet",
        ],
    ),
    (
        "pipeline",
        &[
            "cyclonedx",
            "error",
            "health",
            "policy",
            "reconcile",
            "resolve",
            "settings",
        ],
    ),
    ("operations", &["ops"]),
    ("CLI side", &["logging", "render"]),
    ("CLI", &["cli", "commands", "main", "manual", "ui"]),
];

/// The CLI's own files: outside the acyclicity rule (clap types, the dispatcher, and the docs
/// generated from them).
const CLI: &[&str] = &["cli", "commands", "main", "manual"];

/// The top-level module a file belongs to (`src/store/gc.rs` → `store`).
fn top_module(path: &Path) -> String {
    let relative = path.strip_prefix(src()).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// The code of a file without comments and without `#[cfg(test)]` modules (inline ones are cut
/// by brace depth; `#[cfg(test)] mod tests;` files are left out by the caller).
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim() == "#[cfg(test)]"
            && lines
                .get(i + 1)
                .is_some_and(|next| next.trim_start().starts_with("mod ") && next.ends_with('{'))
        {
            let (mut opened, mut closed) = (0, 0);
            let mut j = i + 1;
            loop {
                opened += lines[j].matches('{').count();
                closed += lines[j].matches('}').count();
                if closed >= opened || j + 1 == lines.len() {
                    break;
                }
                j += 1;
            }
            i = j + 1;
            continue;
        }
        let code = line.split("//").next().unwrap_or_default();
        out.push_str(code);
        out.push('\n');
        i += 1;
    }
    out
}

/// Files that are `#[cfg(test)] mod NAME;` of their directory's module.
fn test_module_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let declaration = regex::Regex::new(r"#\[cfg\(test\)\]\s*mod (\w+);").unwrap();
    let mut out = BTreeSet::new();
    for file in files {
        let text = fs_err::read_to_string(file).unwrap();
        for found in declaration.captures_iter(&text) {
            out.insert(file.with_file_name(format!("{}.rs", &found[1])));
        }
    }
    out
}

/// `module → modules it imports → one place that does`, for every top-level module of `src/`.
fn imports() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let tests = test_module_files(&files);
    let path = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files.iter().filter(|f| !tests.contains(*f)) {
        let from = top_module(file);
        if from == "lib" {
            continue;
        }
        let code = code_of(&fs_err::read_to_string(file).unwrap());
        let edges = graph.entry(from.clone()).or_default();
        for found in path.captures_iter(&code) {
            let to = found[1].to_owned();
            if to != from {
                let place = file.strip_prefix(src()).unwrap().display().to_string();
                edges.entry(to).or_insert(place);
            }
        }
    }
    graph
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// A cycle through `start` in `graph`, if there is one (depth-first search).
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    walk(graph, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn the_library_modules_import_each_other_without_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = imports()
        .into_iter()
        .filter(|(from, _)| !CLI.contains(&from.as_str()))
        .map(|(from, edges)| {
            let to = edges
                .into_keys()
                .filter(|to| !CLI.contains(&to.as_str()))
                .collect();
            (from, to)
        })
        .collect();
    assert!(graph.len() > 15, "the scan found the modules: {graph:?}");
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|module| cycle_from(&graph, module))
        .map(|cycle| cycle.join(" → "))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn every_import_points_down_the_layers() {
    let graph = imports();
    let mut unplaced = Vec::new();
    let mut upward = Vec::new();
    for (from, edges) in &graph {
        let Some(from_layer) = layer_of(from) else {
            unplaced.push(from.clone());
            continue;
        };
        for (to, place) in edges {
            match layer_of(to) {
                Some(to_layer) if to_layer > from_layer => upward.push(format!(
                    "{from} ({}) imports {to} ({}) in {place}",
                    LAYERS[from_layer].0, LAYERS[to_layer].0
                )),
                Some(_) => {}
                None => unplaced.push(to.clone()),
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules in no layer (place them in LAYERS here and in src/lib.rs): {unplaced:?}"
    );
    assert!(
        upward.is_empty(),
        "imports up the layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_checks_above_see_a_cycle_and_an_upward_import() {
    // The scanner itself: comments and unit tests do not count, code does.
    let code = code_of(
        "use crate::a; // crate::b\n#[cfg(test)]\nmod tests {\n    use crate::c;\n}\nfn f() { crate::d::g() }\n",
    );
    assert!(code.contains("crate::a") && code.contains("crate::d"));
    assert!(
        !code.contains("crate::b") && !code.contains("crate::c"),
        "{code}"
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("store", vec!["download"]),
        ("download", vec!["hub", "store"]),
        ("hub", vec![]),
    ]
    .into_iter()
    .map(|(from, to)| (from.to_owned(), to.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        cycle_from(&graph, "store"),
        Some(vec!["store".into(), "download".into(), "store".into()])
    );
    assert_eq!(cycle_from(&graph, "hub"), None);
    assert!(layer_of("ops") > layer_of("store") && layer_of("render") > layer_of("ops"));
}

#[test]
fn operations_neither_print_nor_read_the_environment_nor_know_the_command_line() {
    let mut files = Vec::new();
    rust_files(&src().join("ops"), &mut files);
    let forbidden = [
        "println!",
        "eprintln!",
        "print!",
        "eprint!",
        "stdout()",
        "stderr()",
        "std::env::var",
        "Env::from_process",
        "crate::cli",
        "clap::",
    ];
    let mut found = Vec::new();
    for file in &files {
        let code = code_of(&fs_err::read_to_string(file).unwrap());
        for word in forbidden {
            if code.contains(word) {
                found.push(format!("{}: {word}", file.display()));
            }
        }
    }
    assert!(files.len() > 10, "{files:?}");
    assert!(found.is_empty(), "{}", found.join("\n"));
}
