//! No import circle between the library's source files (see ARCHITECTURE.md).
//!
//! The test reads every file of `kegauth/src`, finds the paths it names
//! (`crate::..`, `super::..`, `self::..` and its own child modules by name,
//! in `use` lines and in expressions, groups and multi-line groups
//! included), and resolves each to the file that defines the item: a path
//! through a module's `pub use` is followed to the file the item comes from,
//! so `crate::core::store::UserRow` is `core/store/users.rs` when
//! `core/store/mod.rs` re-exports it from there. A module's `pub use` of its
//! own descendants is not an import of them (it is how a parent shows its
//! children's items); every other path is. An inline `mod tests { use
//! super::*; }` names its own file. The files and these imports make a
//! graph; every strongly connected part of more than one file is a circle,
//! reported with the lines that make it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::architecture::{code_of, module_path, sources};

/// A module path from the crate root: `["core", "store", "users"]`.
type ModPath = Vec<String>;

/// One path a file names: its segments from the crate root, the name it is
/// given (`as` alias or last segment), whether a `pub use` names it, and
/// the 1-based line.
#[derive(Debug, Clone)]
struct Named {
    path: ModPath,
    alias: Option<String>,
    reexport: bool,
    line: usize,
}

/// One source file, read.
struct File {
    name: String,
    module: ModPath,
    code: String,
    named: Vec<Named>,
}

/// An import circle: its files, and each import inside it
/// (`from:line -> to`).
#[derive(Debug)]
pub struct Circle {
    pub files: Vec<String>,
    pub imports: Vec<String>,
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn ident_at(s: &str) -> &str {
    let end = s.find(|c: char| !is_ident_char(c)).unwrap_or(s.len());
    &s[..end]
}

/// Parses a use tree (or an expression path) at the start of `s`, after its
/// first `::`: `a::b`, `a::{b, c::d as e}`, `*`, `self`. Each leaf is its
/// segments and its alias.
fn parse_tree(s: &str) -> Vec<(Vec<String>, Option<String>)> {
    let s = s.trim_start();
    if let Some(group) = s.strip_prefix('{') {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut start = 0usize;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    out.extend(parse_tree(&group[start..i]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.extend(parse_tree(&group[start..i]));
                    start = i + 1;
                }
                _ => {}
            }
        }
        return out;
    }
    if s.starts_with('*') {
        return vec![(vec!["*".to_string()], None)];
    }
    let ident = ident_at(s);
    if ident.is_empty() {
        return Vec::new();
    }
    let rest = &s[ident.len()..];
    if let Some(after) = rest.strip_prefix("::") {
        if after.trim_start().starts_with('<') {
            // `Type::<T>`: the path ends here.
            return vec![(vec![ident.to_string()], None)];
        }
        return parse_tree(after)
            .into_iter()
            .map(|(mut segs, alias)| {
                segs.insert(0, ident.to_string());
                (segs, alias)
            })
            .collect();
    }
    if rest.trim_start().starts_with('!') {
        return Vec::new(); // a macro: not a module's item
    }
    let alias = rest
        .trim_start()
        .strip_prefix("as ")
        .map(|a| ident_at(a.trim_start()).to_string());
    vec![(vec![ident.to_string()], alias)]
}

/// The byte ranges of the inline modules of `code` (`mod tests { .. }`),
/// with their names.
fn inline_modules(code: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("mod ") {
        let at = from + i;
        from = at + 4;
        if code[..at].chars().next_back().is_some_and(is_ident_char) {
            continue;
        }
        let name = ident_at(code[from..].trim_start());
        let after = code[from..].trim_start()[name.len()..].trim_start();
        if name.is_empty() || !after.starts_with('{') {
            continue;
        }
        let open = code.len() - after.len();
        let mut depth = 0usize;
        let mut end = code.len();
        for (j, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + j;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push((open, end, name.to_string()));
    }
    out
}

/// Whether the path starting at `at` is in a `pub use` (or `pub(crate) use`)
/// statement.
fn in_pub_use(code: &str, at: usize) -> bool {
    // The statement starts after the last `;` or `}` (a group's `{` is
    // inside it).
    let start = code[..at].rfind([';', '}']).map_or(0, |i| i + 1);
    let stmt = code[start..at].trim();
    let words: Vec<&str> = stmt.split_whitespace().collect();
    let Some(u) = words.iter().rposition(|w| *w == "use") else {
        return false;
    };
    u > 0 && words[u - 1].starts_with("pub")
}

/// Reads the paths of one file.
fn read(rel: &Path, text: &str, modules: &BTreeSet<ModPath>) -> File {
    let module = module_path(rel);
    let code: String = text.lines().map(code_of).collect::<Vec<_>>().join("\n");
    let inline = inline_modules(&code);
    let children: BTreeSet<String> = modules
        .iter()
        .filter(|m| m.len() == module.len() + 1 && m.starts_with(&module))
        .filter_map(|m| m.last().cloned())
        .collect();
    let mut named = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let Some(c) = code[i..].chars().next() else {
            break;
        };
        let before = code[..i].chars().next_back();
        let starts_word = !before.is_some_and(|b| is_ident_char(b) || b == ':' || b == '$');
        if !starts_word || !is_ident_char(c) {
            i += c.len_utf8();
            continue;
        }
        let word = ident_at(&code[i..]);
        let rest = &code[i + word.len()..];
        let inside: Vec<&String> = inline
            .iter()
            .filter(|(s, e, _)| *s < i && i < *e)
            .map(|(_, _, n)| n)
            .collect();
        let mut scope = module.clone();
        scope.extend(inside.iter().map(|n| n.to_string()));
        let base: Option<ModPath> = match word {
            "crate" => Some(Vec::new()),
            "self" => Some(scope.clone()),
            "super" => {
                let mut up = scope.clone();
                up.pop();
                Some(up)
            }
            w if inside.is_empty() && children.contains(w) => Some(scope.clone()),
            _ => None,
        };
        let Some(mut base) = base else {
            i += word.len();
            continue;
        };
        if !rest.starts_with("::") {
            i += word.len();
            continue;
        }
        let mut tail = &rest[2..];
        if matches!(word, "self" | "crate" | "super") {
            // `super::super::x`
            while tail.starts_with("super::") {
                base.pop();
                tail = &tail["super::".len()..];
            }
        } else {
            base.push(word.to_string());
        }
        let line = code[..i].matches('\n').count() + 1;
        let reexport = in_pub_use(&code, i);
        for (segs, alias) in parse_tree(tail) {
            let mut path = base.clone();
            path.extend(segs);
            named.push(Named {
                path,
                alias,
                reexport,
                line,
            });
        }
        i += word.len() + 2;
        // Skip the rest of this path (its inner `self`s are read above).
        while i < code.len() && code[i..].starts_with(|c: char| is_ident_char(c) || c == ':') {
            i += 1;
        }
    }
    File {
        name: rel.display().to_string(),
        module,
        code,
        named,
    }
}

/// Whether `code` defines `item` itself (not by `use`).
fn defines(code: &str, item: &str) -> bool {
    [
        "fn ", "struct ", "enum ", "trait ", "type ", "const ", "static ", "mod ", "union ",
    ]
    .iter()
    .any(|kw| {
        code.match_indices(&format!("{kw}{item}")).any(|(at, m)| {
            !code[at + m.len()..].starts_with(is_ident_char)
                && !code[..at].ends_with(|c: char| is_ident_char(c))
        })
    })
}

struct Graph {
    files: Vec<File>,
    by_module: BTreeMap<ModPath, usize>,
}

impl Graph {
    /// The file that defines what `path` names, following `pub use`s.
    fn resolve(&self, path: &[String], hops: usize) -> Option<usize> {
        let (len, &file) = (0..=path.len())
            .rev()
            .find_map(|n| self.by_module.get(&path[..n]).map(|f| (n, f)))?;
        let Some(item) = path.get(len) else {
            return Some(file);
        };
        if item == "self" || item == "*" || hops > 8 {
            return Some(file);
        }
        let f = &self.files[file];
        let exported = f
            .named
            .iter()
            .filter(|n| n.reexport)
            .find(|n| n.alias.as_ref().or(n.path.last()) == Some(item));
        if let Some(n) = exported {
            let mut target = n.path.clone();
            if target.last().is_some_and(|l| l == "self") {
                target.pop();
            }
            target.extend(path[len + 1..].iter().cloned());
            if target != path {
                return self.resolve(&target, hops + 1);
            }
        }
        if !defines(&f.code, item) {
            for glob in f
                .named
                .iter()
                .filter(|n| n.reexport && n.path.last().is_some_and(|l| l == "*"))
            {
                let mut target = glob.path[..glob.path.len() - 1].to_vec();
                target.extend(path[len..].iter().cloned());
                match self.resolve(&target, hops + 1) {
                    Some(g) if defines(&self.files[g].code, item) => return Some(g),
                    _ => {}
                }
            }
        }
        Some(file)
    }

    /// Each file's imports: (target file, line), one per target.
    fn edges(&self) -> Vec<BTreeMap<usize, usize>> {
        self.files
            .iter()
            .enumerate()
            .map(|(from, f)| {
                let mut out = BTreeMap::new();
                for n in &f.named {
                    let descendant = n.path.len() > f.module.len() && n.path.starts_with(&f.module);
                    if n.reexport && descendant {
                        continue;
                    }
                    match self.resolve(&n.path, 0) {
                        Some(to) if to != from => {
                            out.entry(to).or_insert(n.line);
                        }
                        _ => {}
                    }
                }
                out
            })
            .collect()
    }
}

/// Tarjan's strongly connected components, those of more than one file.
fn components(edges: &[BTreeMap<usize, usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a [BTreeMap<usize, usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        let targets: Vec<usize> = s.edges[v].keys().copied().collect();
        for w in targets {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut part = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                part.push(w);
                if w == v {
                    break;
                }
            }
            if part.len() > 1 {
                part.sort();
                s.out.push(part);
            }
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The import circles of a set of files (`rel` path under `src`, text).
pub fn circles(files: &[(String, String)]) -> Vec<Circle> {
    let modules: BTreeSet<ModPath> = files
        .iter()
        .map(|(rel, _)| module_path(Path::new(rel)))
        .collect();
    let read: Vec<File> = files
        .iter()
        .map(|(rel, text)| read(Path::new(rel), text, &modules))
        .collect();
    let by_module = read
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.clone(), i))
        .collect();
    let graph = Graph {
        files: read,
        by_module,
    };
    let edges = graph.edges();
    components(&edges)
        .into_iter()
        .map(|part| {
            let mut imports = Vec::new();
            for &from in &part {
                for (&to, &line) in &edges[from] {
                    if part.contains(&to) {
                        imports.push(format!(
                            "{}:{line} -> {}",
                            graph.files[from].name, graph.files[to].name
                        ));
                    }
                }
            }
            Circle {
                files: part.iter().map(|&i| graph.files[i].name.clone()).collect(),
                imports,
            }
        })
        .collect()
}

fn report(circles: &[Circle]) -> String {
    circles
        .iter()
        .map(|c| format!("  {}\n    {}", c.files.join(", "), c.imports.join("\n    ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The circles of the crate whose sources are under `src` (a folder of
/// the workspace).
fn circles_of(src: &str, at_least: usize) -> String {
    let src = crate::common::root().join(src);
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    paths.sort();
    assert!(paths.len() >= at_least, "found only {} files", paths.len());
    let files: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).expect("a file under src");
            let text = std::fs::read_to_string(p).expect("a readable source file");
            (rel.display().to_string(), text)
        })
        .collect();
    report(&circles(&files))
}

#[test]
fn no_import_circle_between_the_library_files() {
    let found = circles_of("kegauth/src", 40);
    assert!(
        found.is_empty(),
        "kegauth/src has import circles; move the shared piece to the module that owns it, \
         or into a small module both use:\n{found}"
    );
}

#[test]
fn no_import_circle_between_the_macro_crate_files() {
    let found = circles_of("kegauth-macros/src", 5);
    assert!(
        found.is_empty(),
        "kegauth-macros/src has import circles:\n{found}"
    );
}

// The check itself, on made-up files: each rule must be able to fail.

fn made_up(files: &[(&str, &str)]) -> Vec<Circle> {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    circles(&files)
}

#[test]
fn two_files_importing_each_other_are_a_circle() {
    let found = made_up(&[
        ("lib.rs", "mod core;\n"),
        ("core/mod.rs", "pub mod error;\npub mod i18n;\n"),
        (
            "core/error.rs",
            "use crate::core::i18n::t;\npub struct Error;\n",
        ),
        (
            "core/i18n.rs",
            "pub fn t() {}\nfn f() -> crate::core::error::Error { todo!() }\n",
        ),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].files, ["core/error.rs", "core/i18n.rs"]);
    assert_eq!(
        found[0].imports,
        [
            "core/error.rs:1 -> core/i18n.rs",
            "core/i18n.rs:2 -> core/error.rs"
        ]
    );
}

#[test]
fn a_circle_through_three_files_and_a_multi_line_group_is_found() {
    let found = made_up(&[
        ("core/mod.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        (
            "core/a.rs",
            "use crate::core::{\n    b::B,\n};\npub struct A;\n",
        ),
        ("core/b.rs", "use super::c::C;\npub struct B;\n"),
        ("core/c.rs", "pub struct C(crate::core::a::A);\n"),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].files.len(), 3, "{found:?}");
    assert!(found[0]
        .imports
        .contains(&"core/a.rs:1 -> core/b.rs".to_string()));
}

#[test]
fn a_parent_showing_its_children_is_no_circle() {
    // The parent re-exports its child's item, the child uses the parent's.
    let found = made_up(&[
        (
            "core/store/mod.rs",
            "mod users;\npub use users::UserRow;\npub struct Store;\n",
        ),
        (
            "core/store/users.rs",
            "use super::Store;\npub struct UserRow;\n",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_parent_using_its_child_while_the_child_uses_the_parent_is_a_circle() {
    let found = made_up(&[
        (
            "core/store/mod.rs",
            "mod users;\nuse users::UserRow;\npub struct Store(Vec<UserRow>);\n",
        ),
        (
            "core/store/users.rs",
            "use super::Store;\npub struct UserRow;\n",
        ),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    // In an expression, by the child's bare name, too.
    let found = made_up(&[
        (
            "core/store/mod.rs",
            "mod users;\npub struct Store;\nfn f() { users::load() }\n",
        ),
        (
            "core/store/users.rs",
            "pub fn load() { let _ = super::Store; }\n",
        ),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn a_path_through_a_re_export_reaches_the_defining_file() {
    // `b` imports `A` through the parent, which re-exports it from `a`; `a`
    // imports `b`: a circle between `a` and `b`, not through the parent.
    let found = made_up(&[
        (
            "core/mod.rs",
            "mod a;\nmod b;\npub use a::A;\npub use self::b::{B as Bee};\n",
        ),
        ("core/a.rs", "use crate::core::Bee;\npub struct A;\n"),
        ("core/b.rs", "use crate::core::A;\npub struct B;\n"),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].files, ["core/a.rs", "core/b.rs"]);
    // Through a glob re-export too.
    let found = made_up(&[
        ("core/mod.rs", "mod a;\nmod b;\npub use a::*;\n"),
        ("core/a.rs", "pub struct A;\nuse crate::core::b::B;\n"),
        ("core/b.rs", "use crate::core::A;\npub struct B;\n"),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].files, ["core/a.rs", "core/b.rs"]);
}

#[test]
fn a_test_module_comments_and_macros_name_no_other_file() {
    let found = made_up(&[
        ("core/mod.rs", "mod a;\nmod b;\n"),
        (
            "core/a.rs",
            "use crate::core::b::B;\npub struct A;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        ),
        (
            "core/b.rs",
            "//! See [`A`](crate::core::a::A).\npub struct B;\nfn f() { crate::core::a!(); } // crate::core::a\n",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}
