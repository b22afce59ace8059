//! The layers of ARCHITECTURE.md hold: no module of src/ imports another that imports it
//! back, neither among the top-level modules nor among the files of any one directory
//! (src/data, src/train, ...). An import is a `crate::`, `super::` or `self::` path in
//! a `use` or in code, resolved through the `pub use` re-exports of a module's mod.rs
//! to the file that defines the item. Tests (`#[cfg(test)]` items) may reach anywhere and
//! are not counted, nor is any other item compiled for tests only.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// A module's path from the crate root: `["data", "preprocess"]`; the root is empty.
type Module = Vec<String>;
type Edges = BTreeSet<(Module, Module)>;
/// A path as its segments: `crate::data::Dataset` is `["crate", "data", "Dataset"]`.
type Segments = Vec<String>;
/// A file's `use` trees (each marked whether `pub`) and the other paths it writes.
type Paths = (Vec<(bool, Segments)>, Vec<Segments>);

/// Every library source file under `dir` with its module path (main.rs, the binary's
/// root, is not part of the library).
fn read_sources(root: &Path, dir: &Path, out: &mut Vec<(Module, String)>) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_sources(root, &path, out);
            continue;
        }
        let rel = path.strip_prefix(root).unwrap();
        if path.extension().is_none_or(|e| e != "rs") || rel == Path::new("main.rs") {
            continue;
        }
        let mut module: Module =
            rel.iter().map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
        if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
            module.pop();
        }
        out.push((module, fs::read_to_string(&path).unwrap()));
    }
}

/// The code without comments and without the items compiled for tests only.
fn code(text: &str) -> String {
    let mut text: String =
        text.lines().map(|line| line.split("//").next().unwrap()).collect::<Vec<_>>().join("\n");
    while let Some(at) = text.find("#[cfg(test)]") {
        let end = item_end(&text[at..]).map_or(text.len(), |e| at + e);
        text.replace_range(at..end, "");
    }
    text
}

/// The length of the item an attribute at the start of `text` belongs to: up to its `;`
/// or to the `}` that closes its first `{`.
fn item_end(text: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut braced = false;
    for (i, c) in text.char_indices().skip("#[cfg(test)]".len()) {
        match c {
            '{' | '[' | '(' => {
                braced |= c == '{' && depth == 0;
                depth += 1;
            }
            '}' | ']' | ')' => {
                depth -= 1;
                if depth == 0 && c == '}' && braced {
                    return Some(i + 1);
                }
            }
            ';' if depth == 0 => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The paths a use tree names: `a::{b, c::{d, self}}` is `a::b`, `a::c::d`, `a::c`
/// (`x as y` counts as `x`).
fn expand(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let mut head = prefix.to_vec();
        head.extend(segments(&tree[..open]));
        let inner = &tree[open + 1..tree.rfind('}').unwrap()];
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..i], &head, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], &head, out);
    } else if !tree.is_empty() {
        let mut path = prefix.to_vec();
        path.extend(
            segments(tree.split(" as ").next().unwrap()).filter(|s| s != "self" || prefix.is_empty()),
        );
        out.push(path);
    }
}

fn segments(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split("::").map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

/// The `use` trees of `code` (with `pub` ones marked) and the `crate::`/`super::`/`self::`
/// paths written in the rest of it.
fn paths(code: &str) -> Paths {
    let (mut uses, mut rest, mut inline) = (Vec::new(), String::new(), Vec::new());
    let mut text = code;
    while let Some(at) = find_use(text) {
        rest.push_str(&text[..at.0]);
        let end = at.1 + text[at.1..].find(';').unwrap();
        let mut trees = Vec::new();
        expand(&text[at.1..end], &[], &mut trees);
        uses.extend(trees.into_iter().map(|t| (at.2, t)));
        text = &text[end + 1..];
    }
    rest.push_str(text);
    let is_path_char = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    for (i, _) in
        rest.match_indices("crate::").chain(rest.match_indices("super::")).chain(rest.match_indices("self::"))
    {
        let before = rest[..i].chars().next_back();
        if before.is_some_and(is_path_char) {
            continue;
        }
        let run: String = rest[i..].chars().take_while(|&c| is_path_char(c)).collect();
        inline.push(segments(&run).collect());
    }
    (uses, inline)
}

/// The next `use` statement: where its line starts, where its tree starts, whether `pub`.
fn find_use(text: &str) -> Option<(usize, usize, bool)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        for (lead, public) in
            [("use ", false), ("pub use ", true), ("pub(crate) use ", true), ("pub(super) use ", true)]
        {
            if trimmed.starts_with(lead) {
                return Some((offset, offset + indent + lead.len(), public));
            }
        }
        offset += line.len();
    }
    None
}

/// `path`, written in module `from`, as a path from the crate root; None for a path that
/// does not start at `crate`, `self` or `super` (another crate's, or a child's).
fn absolute(from: &Module, path: &[String]) -> Option<Vec<String>> {
    let mut base = from.clone();
    let mut parts = path.iter().peekable();
    match parts.peek().map(|s| s.as_str()) {
        Some("crate") => {
            base.clear();
            parts.next();
        }
        Some("self") => {
            parts.next();
        }
        Some("super") => {
            // A file's `super` is its directory's module (mod.rs is that module itself).
            while parts.next_if(|s| *s == "super").is_some() {
                base.pop();
            }
        }
        _ => return None,
    }
    base.extend(parts.cloned());
    Some(base)
}

/// The import edges between the modules of `sources`.
fn edges(sources: &[(Module, String)]) -> Edges {
    let modules: BTreeSet<Module> = sources.iter().map(|(m, _)| m.clone()).collect();
    let parsed: Vec<_> = sources.iter().map(|(m, text)| (m, paths(&code(text)))).collect();
    // Which child module a name re-exported by a module comes from.
    let mut reexports: BTreeMap<(Module, String), Module> = BTreeMap::new();
    for (m, (uses, _)) in &parsed {
        for (_, path) in uses.iter().filter(|(public, _)| *public) {
            // A re-export names a child module (`pub use x::Thing`) or a path from `crate`.
            let target = absolute(m, path).unwrap_or_else(|| m.iter().chain(path).cloned().collect());
            let defined = longest_module(&modules, &target);
            if defined.len() > m.len() && defined.starts_with(m) {
                reexports.insert(((*m).clone(), path.last().unwrap().clone()), defined);
            }
        }
    }
    let mut out = Edges::new();
    for (m, (uses, inline)) in &parsed {
        for path in uses.iter().map(|(_, p)| p).chain(inline) {
            let Some(target) = absolute(m, path) else { continue };
            let mut to = longest_module(&modules, &target);
            while let Some(name) = target.get(to.len()) {
                match reexports.get(&(to.clone(), name.clone())) {
                    Some(child) if child != &to => to = child.clone(),
                    _ => break,
                }
            }
            if &to != *m {
                out.insert(((*m).clone(), to));
            }
        }
    }
    out
}

fn longest_module(modules: &BTreeSet<Module>, path: &[String]) -> Module {
    (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| modules.contains(p)).unwrap_or_default()
}

/// A cycle among the children of some module (each file or directory of one directory
/// counted as one), as the names along it; None if there is none.
fn find_cycle(edges: &Edges) -> Option<Vec<String>> {
    let parents: BTreeSet<Module> =
        edges.iter().flat_map(|(a, b)| [a, b]).flat_map(|m| (0..m.len()).map(|n| m[..n].to_vec())).collect();
    for parent in parents {
        let d = parent.len();
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            if a.len() > d && b.len() > d && a.starts_with(&parent) && b.starts_with(&parent) && a[d] != b[d]
            {
                graph.entry(a[d].clone()).or_default().insert(b[d].clone());
            }
        }
        let mut done = BTreeSet::new();
        for start in graph.keys() {
            let mut stack = vec![start.clone()];
            if let Some(cycle) = dfs(&graph, &mut stack, &mut done) {
                let mut named: Vec<String> =
                    cycle.iter().map(|c| [parent.join("::"), c.clone()].join("::")).collect();
                named.iter_mut().for_each(|n| *n = n.trim_start_matches("::").to_string());
                return Some(named);
            }
        }
    }
    None
}

fn dfs(
    graph: &BTreeMap<String, BTreeSet<String>>,
    stack: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    let node = stack.last().unwrap().clone();
    if done.contains(&node) {
        return None;
    }
    for next in graph.get(&node).into_iter().flatten() {
        if let Some(at) = stack.iter().position(|s| s == next) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(next.clone());
            return Some(cycle);
        }
        stack.push(next.clone());
        let found = dfs(graph, stack, done);
        stack.pop();
        if found.is_some() {
            return found;
        }
    }
    done.insert(node);
    None
}

fn module(path: &str) -> Module {
    segments(path).collect()
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut sources = Vec::new();
    read_sources(Path::new("src"), Path::new("src"), &mut sources);
    let edges = edges(&sources);
    assert_eq!(find_cycle(&edges), None, "a module imports one that imports it back");
    // The reading finds the imports it must: through a re-export, and between files.
    assert!(edges.contains(&(module("data::preprocess"), module("transit::transit_view"))), "{edges:?}");
    assert!(edges.contains(&(module("data::csv_reader"), module("data::dataset"))));
    assert!(edges.contains(&(module("transit::whiten"), module("series"))));
    let leaf: Vec<_> = edges.iter().filter(|(a, _)| a.first().is_some_and(|s| s == "series")).collect();
    assert!(leaf.is_empty(), "series must import nothing of the crate: {leaf:?}");
}

#[test]
fn cycles_are_found_at_the_top_and_within_a_directory() {
    let crate_of = |files: &[(&str, &str)]| -> Vec<(Module, String)> {
        files.iter().map(|(m, text)| (module(m), text.to_string())).collect()
    };
    let base = [
        ("", "pub mod a;\npub mod b;\n"),
        ("a", "mod x;\nmod y;\npub use x::Thing;\n"),
        ("a::x", "use super::y::f;\n"),
        ("a::y", "pub fn f() {}\n"),
        ("b", "use crate::a::Thing;\n"),
    ];
    assert_eq!(find_cycle(&edges(&crate_of(&base))), None);

    let mut top = base.to_vec();
    top[3] = ("a::y", "pub fn f() { crate::b::g() }\n");
    top[4] = ("b", "use crate::a::Thing;\npub fn g() {}\n");
    assert_eq!(find_cycle(&edges(&crate_of(&top))), Some(vec!["a".into(), "b".into(), "a".into()]));

    let mut files = base.to_vec();
    files[3] = ("a::y", "use super::{x::{self, Other}};\npub fn f() {}\n");
    assert_eq!(
        find_cycle(&edges(&crate_of(&files))),
        Some(vec!["a::x".into(), "a::y".into(), "a::x".into()])
    );

    // An import in a test module, or named only in a comment, is no edge.
    let mut tests_only = base.to_vec();
    tests_only[3] =
        ("a::y", "// see super::x\npub fn f() {}\n#[cfg(test)]\nmod tests {\n    use super::super::x;\n}\n");
    assert_eq!(find_cycle(&edges(&crate_of(&tests_only))), None);
}
