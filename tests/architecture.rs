//! The library's layers (see ARCHITECTURE.md): every module of `kegauth/src`
//! lives in one of six folders, and a layer names only itself and the
//! layers below it. This test reads the sources and fails on a `crate::` path
//! that points up (a web type used by the store, say), on a path that skips
//! the layer (`crate::store::..` instead of `crate::core::store::..`), on a
//! `super::` that climbs out of a layer, on a loose file beside `lib.rs`, and
//! on a source file of more than 800 lines.

use std::path::{Path, PathBuf};

/// The layers, lowest first.
const LAYERS: [&str; 6] = ["core", "services", "authn", "authz", "web", "ops"];

/// The longest source file allowed, in lines.
const MAX_LINES: usize = 800;

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

/// One problem: the file, the 1-based line, what is wrong.
type Problem = (String, usize, String);

/// The code of a line: without its `//` comment (doc comments too, whose
/// links name the public paths, not the layers). A `//` inside a string
/// literal is rare enough here to be ignored; such a line is cut early,
/// which can only hide a path, never invent one.
pub(crate) fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// The first segments of the paths a stretch of code names after `crate::`:
/// `crate::core::store::Store` gives `core`; `crate::{core::a, web::b}`
/// gives `core` and `web`; `crate::permissions!` (a macro at the crate root)
/// gives nothing.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        let after = &rest[i + "crate::".len()..];
        rest = after;
        // `$crate::` (macro_rules) and `kegauth_crate::` are other paths.
        if before.is_some_and(|c| c == '$' || c == '_' || c.is_alphanumeric()) {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0usize;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start && depth == 0 => {
                        start = false;
                        out.push(ident_at(&group[j..]));
                    }
                    _ => {}
                }
            }
            continue;
        }
        let ident = ident_at(after);
        if after[ident.len()..].starts_with('!') {
            continue;
        }
        out.push(ident);
    }
    out
}

fn ident_at(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The module path of a source file under `src`: `core/store/mod.rs` is
/// `[core, store]`, `core/store/users.rs` is `[core, store, users]`.
pub(crate) fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_string());
        }
    }
    parts
}

/// The problems of one source file, at `rel` (relative to `src`).
fn check_file(rel: &Path, text: &str) -> Vec<Problem> {
    let name = rel.display().to_string();
    let mut problems = Vec::new();
    let lines = text.lines().count();
    if lines > MAX_LINES {
        problems.push((
            name.clone(),
            lines,
            format!("{lines} lines, more than {MAX_LINES}: split it by concern"),
        ));
    }
    let module = module_path(rel);
    let Some(layer) = module.first() else {
        return problems; // lib.rs: the root re-exports every layer
    };
    let Some(own) = rank(layer) else {
        problems.push((
            name,
            1,
            format!("`{layer}` is in no layer: move it into one of {LAYERS:?}"),
        ));
        return problems;
    };
    let depth = module.len();
    for (n, line) in text.lines().enumerate() {
        let code = code_of(line);
        for first in crate_paths(code) {
            match rank(&first) {
                Some(r) if r > own => problems.push((
                    name.clone(),
                    n + 1,
                    format!(
                        "the {layer} layer names `crate::{first}`, a layer above it \
                         (move what it needs down to the layer that owns it)"
                    ),
                )),
                Some(_) => {}
                None => problems.push((
                    name.clone(),
                    n + 1,
                    format!("`crate::{first}` skips the layer: write `crate::<layer>::...`"),
                )),
            }
        }
        let chain = code
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map(|word| word.matches("super::").count())
            .max()
            .unwrap_or(0);
        // `super::super::x` climbs two modules; from `core/clock.rs` (the
        // module `core::clock`) two reach the crate root.
        if chain > 0 && chain >= depth {
            problems.push((
                name.clone(),
                n + 1,
                "`super::` climbs out of the layer: name the layer with `crate::`".into(),
            ));
        }
    }
    problems
}

pub(crate) fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn check_tree(src: &Path) -> Vec<Problem> {
    let mut files = Vec::new();
    sources(src, &mut files);
    files.sort();
    assert!(
        files.len() > 40,
        "found only {} files under {}",
        files.len(),
        src.display()
    );
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        let rel = file.strip_prefix(src).expect("a file under src");
        problems.extend(check_file(rel, &text));
    }
    problems
}

fn report(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|(file, line, what)| format!("  {file}:{line}: {what}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_library_layers_point_down_only() {
    let src = crate::common::root().join("kegauth/src");
    let problems = check_tree(&src);
    assert!(
        problems.is_empty(),
        "kegauth/src breaks its layers (core < authn < authz < web < ops):\n{}",
        report(&problems)
    );
}

#[test]
fn the_macro_crate_keeps_small_files() {
    let src = crate::common::root().join("kegauth-macros/src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() >= 5, "the macro crate's files: {files:?}");
    for file in files {
        let lines = std::fs::read_to_string(&file)
            .expect("readable")
            .lines()
            .count();
        assert!(lines <= MAX_LINES, "{}: {lines} lines", file.display());
    }
}

// The check itself, on made-up files: each rule must be able to fail.

#[test]
fn an_upward_path_is_refused() {
    let text = "use crate::core::store::Store;\nuse crate::web::views::Page;\n";
    let problems = check_file(Path::new("authn/session.rs"), text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].1, 2);
    assert!(problems[0].2.contains("`crate::web`"), "{problems:?}");
}

#[test]
fn upward_paths_inside_groups_and_expressions_are_refused() {
    let text = "use crate::{core::error::Error, ops::cli};\n\
                fn f() { let _ = crate::authz::nav::Menus::build; }\n";
    let problems = check_file(Path::new("core/store/users.rs"), text);
    let lines: Vec<usize> = problems.iter().map(|p| p.1).collect();
    assert_eq!(lines, [1, 2], "{problems:?}");
}

#[test]
fn a_path_that_skips_the_layer_is_refused() {
    let problems = check_file(Path::new("web/admin/mod.rs"), "use crate::store::Store;\n");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].2.contains("skips the layer"), "{problems:?}");
}

#[test]
fn comments_macros_and_lower_layers_pass() {
    let text = "//! See [`Store`](crate::store::Store) and [`x`](crate::ops::cli).\n\
                use crate::core::store::Store; // crate::web::admin is above\n\
                use crate::authn::session::Session;\n\
                crate::permissions! { A = \"a\"; }\n\
                const P: &str = $crate::PermissionDef::new;\n";
    let problems = check_file(Path::new("authz/nav.rs"), text);
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn super_may_not_climb_out_of_a_layer() {
    assert!(check_file(Path::new("core/store/users.rs"), "use super::*;\n").is_empty());
    assert!(check_file(Path::new("core/store/users.rs"), "use super::super::ddl;\n").is_empty());
    let problems = check_file(Path::new("core/clock.rs"), "use super::super::web;\n");
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problems = check_file(Path::new("web/mod.rs"), "use super::ops;\n");
    assert_eq!(problems.len(), 1, "{problems:?}");
}

#[test]
fn a_loose_file_and_a_long_file_are_refused() {
    let problems = check_file(Path::new("helpers.rs"), "fn f() {}\n");
    assert!(problems[0].2.contains("in no layer"), "{problems:?}");
    let long = "fn f() {}\n".repeat(MAX_LINES + 1);
    let problems = check_file(Path::new("core/clock.rs"), &long);
    assert!(problems[0].2.contains("801 lines"), "{problems:?}");
}
