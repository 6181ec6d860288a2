//! The module graph has no cycles: between the crate's top modules, and between the siblings
//! inside each module (`store::bookings` → `store::payments` → `store::bookings` is one).
//!
//! A dependency is any `crate::…` or `super::…` path in a module's code (a `use` or inline),
//! resolved to the longest module it names; paths in comments and in `#[cfg(test)]` modules
//! at a file's end do not count, nor do a module's uses of its own ancestors or descendants
//! (a parent declares its children; a child may use what its parent defines). This is what
//! `cargo modules dependencies --lib --acyclic` checks, without building it in CI.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn module_of(src: &Path, file: &Path) -> Option<Module> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    match last.as_str() {
        "lib.rs" if parts.is_empty() => Some(Vec::new()),
        "main.rs" if parts.is_empty() => None,
        "mod.rs" => Some(parts),
        name => {
            parts.push(name.strip_suffix(".rs")?.to_owned());
            Some(parts)
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its trailing `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            // A `//` inside a string literal ("https://…") is not a comment.
            Some(at) if !l[..at].contains('"') => &l[..at],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The module paths a file's code names: `crate::a::b`, `super::c`, and one level of braces
/// (`crate::store::{audit, catalog}` names `store::audit` and `store::catalog`).
fn named_paths(code: &str, here: &Module) -> Vec<Module> {
    let mut out = Vec::new();
    for (start, root) in code
        .match_indices("crate::")
        .map(|(i, _)| (i, "crate"))
        .chain(code.match_indices("super::").map(|(i, _)| (i, "super")))
    {
        if start > 0 && code[..start].chars().last().is_some_and(is_ident) {
            continue;
        }
        if root == "super" && code[..start].ends_with("super::") {
            continue; // counted from the first `super::`
        }
        let mut base: Module = if root == "crate" {
            Vec::new()
        } else {
            here.clone()
        };
        let mut rest = &code[start..];
        // Walk `crate::` / `super::` segments.
        loop {
            if let Some(r) = rest.strip_prefix("crate::") {
                rest = r;
            } else if let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            } else {
                break;
            }
        }
        let mut path = base;
        loop {
            let ident: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            if ident.is_empty() {
                break;
            }
            rest = &rest[ident.len()..];
            path.push(ident);
            match rest.strip_prefix("::") {
                Some(r) => rest = r,
                None => break,
            }
        }
        if let Some(inner) = rest.strip_prefix('{') {
            let group = &inner[..inner.find('}').unwrap_or(inner.len())];
            for item in group.split(',') {
                let first: String = item.trim().chars().take_while(|c| is_ident(*c)).collect();
                if !first.is_empty() && first != "self" {
                    let mut p = path.clone();
                    p.push(first);
                    out.push(p);
                }
            }
        }
        out.push(path);
    }
    out
}

/// The longest known module a path names.
fn resolve(path: &Module, known: &BTreeSet<Module>) -> Module {
    let mut p = path.clone();
    while !p.is_empty() && !known.contains(&p) {
        p.pop();
    }
    p
}

/// Strongly connected components with more than one member (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(edges) = s.graph.get(v) {
            for w in edges {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.found.push(scc);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

/// Every cycle between sibling modules, named `parent: a → b → …`.
fn module_cycles(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: Vec<(Module, String)> = files
        .iter()
        .filter_map(|f| Some((module_of(src, f)?, std::fs::read_to_string(f).ok()?)))
        .collect();
    let known: BTreeSet<Module> = modules.iter().map(|(m, _)| m.clone()).collect();
    // parent module → (child → children it depends on)
    let mut graphs: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (from, text) in &modules {
        for path in named_paths(&code(text), from) {
            let to = resolve(&path, &known);
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == to.len() {
                continue; // an ancestor or a descendant
            }
            let parent = if common == 0 {
                "crate".to_owned()
            } else {
                from[..common].join("::")
            };
            graphs
                .entry(parent)
                .or_default()
                .entry(from[common].clone())
                .or_default()
                .insert(to[common].clone());
        }
    }
    let mut out = Vec::new();
    for (parent, graph) in &graphs {
        for scc in cycles(graph) {
            let edges: Vec<String> = scc
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| scc.contains(b))
                        .map(move |b| format!("{a} → {b}"))
                })
                .collect();
            out.push(format!("in {parent}: {}", edges.join(", ")));
        }
    }
    out
}

#[test]
fn no_module_depends_on_itself_through_its_siblings() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = module_cycles(&src);
    assert!(
        found.is_empty(),
        "module cycles (each edge is a `crate::`/`super::` path in the first module's code):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_cycle_check_finds_a_cycle_between_siblings_and_ignores_comments_and_ancestors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    std::fs::create_dir_all(src.join("store")).expect("dir");
    std::fs::write(src.join("lib.rs"), "pub mod store;\npub mod http;\n").expect("lib");
    std::fs::write(
        src.join("store/mod.rs"),
        "pub mod a;\npub mod b;\nuse crate::store::a::X;\n",
    )
    .expect("store");
    std::fs::write(
        src.join("store/a.rs"),
        "use super::{b, Store};\n// crate::http is only mentioned\n",
    )
    .expect("a");
    std::fs::write(src.join("store/b.rs"), "fn f() { crate::store::a::g() }\n").expect("b");
    std::fs::write(src.join("http.rs"), "use crate::store::Store;\n").expect("http");
    let found = module_cycles(src);
    assert_eq!(
        found,
        vec!["in store: a → b, b → a".to_owned()],
        "{found:?}"
    );
    std::fs::write(src.join("store/b.rs"), "fn f() {}\n").expect("b");
    assert!(module_cycles(src).is_empty());
}
