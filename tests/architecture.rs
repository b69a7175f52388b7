//! The layers of ARCHITECTURE.md, enforced: a module may import only from its own layer or the
//! layers below it, a command never from another command, and `unsafe` appears only in the
//! fast-path modules that are allowed it. Reads the source text, so it needs no build of its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The library's layers, lowest first: (layer, its top-level modules).
const LAYERS: &[(&str, &[&str])] = &[
    ("core", &["model"]),
    ("services", &["aws", "hashing"]),
    ("input", &["input"]),
    ("encoding", &["encoding"]),
    ("shape", &["shape"]),
    ("output", &["output"]),
    ("pipeline", &["pipeline", "profile"]),
    ("run", &["run"]),
    ("commands", &["commands"]),
];

/// Modules any layer may use: test helpers only.
const ANYWHERE: &[&str] = &["testing"];

/// The files allowed `unsafe`: fast paths, each with a plain reference its tests compare against,
/// and the system calls.
const UNSAFE_ALLOWED: &[&str] = &["src/model/sys.rs", "src/hashing/md5x.rs"];

fn layer_of(top: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&top))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every source file of the library and the binary: (path from the crate root with `/`, text).
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files
        .iter()
        .map(|f| {
            let rel = f
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(f).unwrap())
        })
        .collect()
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The code of a file without its comments (so prose that names a module is not an import).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `crate::x::y` paths in `text`: (x, y or "").
fn crate_paths(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let top = ident(rest);
        let second = rest[top.len()..]
            .strip_prefix("::")
            .map(ident)
            .unwrap_or_default();
        out.push((top, second));
    }
    out
}

#[test]
fn layers_import_only_downward() {
    let mut wrong = BTreeSet::new();
    let mut seen_layers = BTreeSet::new();
    for (rel, text) in sources() {
        let parts: Vec<&str> = rel.split('/').collect();
        let top = parts[1].trim_end_matches(".rs");
        // The binary (main.rs, cli/) sits above every layer; lib.rs only declares them.
        if matches!(top, "main" | "cli" | "lib") || ANYWHERE.contains(&top) {
            continue;
        }
        let Some(mine) = layer_of(top) else {
            wrong.insert(format!(
                "{rel}: module `{top}` is in no layer (add it to ARCHITECTURE.md and this test)"
            ));
            continue;
        };
        seen_layers.insert(mine);
        let command = (top == "commands").then(|| parts[2].trim_end_matches(".rs"));
        let text = code(&text);
        assert!(
            !text.contains("crate::{"),
            "{rel}: import crate modules one path at a time (crate::{{…}} hides the layer)"
        );
        for (t, second) in crate_paths(&text) {
            if ANYWHERE.contains(&t.as_str()) {
                continue;
            }
            match layer_of(&t) {
                None => {
                    wrong.insert(format!("{rel}: crate::{t} is in no layer"));
                }
                Some(theirs) if theirs > mine => {
                    wrong.insert(format!(
                        "{rel} ({}) imports crate::{t}::{second} ({}), a layer above it",
                        LAYERS[mine].0, LAYERS[theirs].0
                    ));
                }
                Some(_) => {
                    if let Some(me) = command {
                        if t == "commands" && second != me {
                            wrong.insert(format!(
                                "{rel}: the {me} command imports the {second} command; move what they share down a layer"
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", {
        let v: Vec<_> = wrong.into_iter().collect();
        v.join("\n")
    });
    assert!(
        seen_layers.len() >= 6,
        "the layers were found: {seen_layers:?}"
    );
}

/// A module's name from its file: `src/encoding/text.rs` → `encoding::text`.
fn module_of(rel: &str) -> String {
    let p = rel.trim_start_matches("src/").trim_end_matches(".rs");
    let p = p.strip_suffix("/mod").unwrap_or(p);
    p.replace('/', "::")
}

/// The modules `text` (a module's code, comments removed) names, as paths from the crate root:
/// `crate::x::y…`, `super::x…` and the members of `super::{…}` groups.
fn named_paths(text: &str, module: &str) -> Vec<Vec<String>> {
    let parent: Vec<String> = match module.rsplit_once("::") {
        Some((p, _)) => p.split("::").map(String::from).collect(),
        None => Vec::new(),
    };
    // A path's segments from `rest` on: `a::b::c` (stops at anything else).
    let segments = |mut rest: &str| -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let id = ident(rest);
            if id.is_empty() {
                break;
            }
            rest = &rest[id.len()..];
            out.push(id);
            match rest.strip_prefix("::") {
                Some(r) => rest = r,
                None => break,
            }
        }
        out
    };
    let mut out = Vec::new();
    for (root, base) in [("crate::", Vec::new()), ("super::", parent.clone())] {
        let mut rest = text;
        while let Some(i) = rest.find(root) {
            let before = rest[..i].chars().last();
            rest = &rest[i + root.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                // The first segment of each member of the group.
                let body = &group[..group.find('}').unwrap_or(group.len())];
                for member in body.split(',') {
                    let segs = segments(member.trim());
                    if !segs.is_empty() {
                        out.push(base.iter().cloned().chain(segs).collect());
                    }
                }
            } else {
                out.push(base.iter().cloned().chain(segments(rest)).collect());
            }
        }
    }
    out
}

/// No two modules import each other, directly or around a circle (a module and the modules
/// inside it aside: a parent declares its children, and children use their parent's items).
#[test]
fn no_circles_between_modules() {
    let mut texts = std::collections::BTreeMap::new();
    for (rel, text) in sources() {
        // Test modules may use anything.
        let text = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
        texts.insert(module_of(&rel), code(&text));
    }
    let modules: BTreeSet<String> = texts.keys().cloned().collect();
    let mut edges: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for (m, text) in &texts {
        for path in named_paths(text, m) {
            // The longest prefix that is a module.
            let target = (1..=path.len())
                .rev()
                .map(|k| path[..k].join("::"))
                .find(|c| modules.contains(c));
            if let Some(t) = target {
                let related =
                    t == *m || m.starts_with(&format!("{t}::")) || t.starts_with(&format!("{m}::"));
                if !related {
                    edges.entry(m.clone()).or_default().insert(t);
                }
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        edges: &std::collections::BTreeMap<String, BTreeSet<String>>,
        state: &mut std::collections::BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for t in edges.get(m).into_iter().flatten() {
            match state.get(t.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == t).unwrap();
                    let mut circle = stack[at..].to_vec();
                    circle.push(t.clone());
                    return Some(circle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(t, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state: std::collections::BTreeMap<String, u8> = Default::default();
    for m in &modules {
        if !state.contains_key(m.as_str()) {
            if let Some(c) = visit(m, &edges, &mut state, &mut Vec::new()) {
                panic!("modules import each other: {}", c.join(" → "));
            }
        }
    }
    assert!(edges.len() > 10, "the imports were found: {edges:?}");
}

/// The checker itself finds what it must.
#[test]
fn the_path_scan_sees_imports_and_skips_comments() {
    let text = code(
        "use super::{sets::finish_set, AttrType};\nlet x = crate::model::keys::K; // super::gone",
    );
    assert_eq!(
        named_paths(&text, "encoding::text"),
        [
            vec!["model", "keys", "K"],
            vec!["encoding", "sets", "finish_set"],
            vec!["encoding", "AttrType"],
        ]
    );
    assert_eq!(module_of("src/encoding/mod.rs"), "encoding");
    let text = code("use crate::input::csv; // crate::commands::x\nlet a = crate::model::rules::X;\nfoo$crate::bar");
    assert_eq!(
        crate_paths(&text),
        [
            ("input".to_string(), "csv".to_string()),
            ("model".to_string(), "rules".to_string())
        ]
    );
}

#[test]
fn unsafe_only_in_the_fast_path_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    assert!(
        lib.contains("#![deny(unsafe_code)]"),
        "lib.rs denies unsafe crate-wide"
    );
    let mut wrong = Vec::new();
    for (rel, text) in sources() {
        let text = code(&text);
        let uses = text.contains("unsafe ") || text.contains("unsafe{");
        let allowed = UNSAFE_ALLOWED.contains(&rel.as_str());
        if uses && !allowed {
            wrong.push(format!(
                "{rel} uses unsafe but is not a named fast-path module"
            ));
        }
        if text.contains("allow(unsafe_code)") && !allowed && rel != "src/lib.rs" {
            wrong.push(format!(
                "{rel} allows unsafe but is not a named fast-path module"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The library never prints: progress and notices go through the observer its caller passes
/// (`model::observe`); only the binary (`src/main.rs`, `src/cli/`) writes to the terminal. Test
/// modules (`#[cfg(test)]` to the end of a file) may say why they skip.
#[test]
fn the_library_never_prints() {
    let mut wrong = Vec::new();
    for (rel, text) in sources() {
        if rel == "src/main.rs" || rel.starts_with("src/cli/") {
            continue;
        }
        let text = code(&text);
        let library = match text.find("#[cfg(test)]\nmod tests") {
            Some(i) => &text[..i],
            None => &text[..],
        };
        for printer in [
            "println!",
            "eprintln!",
            "print!(",
            "eprint!(",
            "indicatif",
            "std::io::stdout",
            "std::io::stderr",
            "dbg!(",
        ] {
            if library.contains(printer) {
                wrong.push(format!(
                    "{rel} uses {printer}: report through the caller's observer instead"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The `pub` items (functions, types, constants, methods) a library file declares outside its
/// tests: (line number, name).
fn pub_items(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("mod tests") || t.starts_with("pub(crate) mod tests") {
            break;
        }
        let Some(rest) = t.strip_prefix("pub ") else {
            continue;
        };
        let rest = rest
            .trim_start_matches("async ")
            .trim_start_matches("unsafe ");
        for kw in [
            "fn ", "struct ", "enum ", "trait ", "const ", "static ", "type ",
        ] {
            if let Some(name) = rest.strip_prefix(kw) {
                let name = ident(name);
                if !name.is_empty() && name != "_" {
                    out.push((i + 1, name));
                }
            }
        }
    }
    out
}

/// Whether `name` occurs in `text` as a whole identifier.
fn names(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// `pub` is for what another layer (or the binary, the tests, benches, fuzz targets, the Python
/// package) uses; everything else is `pub(crate)` or narrower, so each layer's API is what it
/// offers the others. A name found anywhere outside the item's layer counts as a use (common
/// names pass unchecked; the check catches the items nobody outside reaches).
#[test]
fn pub_items_are_used_outside_their_layer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib: Vec<(String, String)> = sources()
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with("src/cli/") && rel != "src/main.rs")
        .collect();
    let mut callers = String::new();
    for (rel, text) in sources() {
        if rel.starts_with("src/cli/") || rel == "src/main.rs" {
            callers.push_str(&code(&text));
        }
    }
    for dir in ["tests", "benches", "fuzz/fuzz_targets", "python/rust"] {
        let mut files = Vec::new();
        if root.join(dir).is_dir() {
            rust_files(&root.join(dir), &mut files);
        }
        for f in files {
            callers.push_str(&code(&std::fs::read_to_string(f).unwrap()));
        }
    }
    let layer = |rel: &str| {
        let top = rel
            .trim_start_matches("src/")
            .split(['/', '.'])
            .next()
            .unwrap_or("")
            .to_string();
        layer_of(&top)
    };
    // A type named in a public signature or field, a public enum's variants or a public
    // trait's methods is part of that item's API.
    let mut signatures = String::new();
    for (_, text) in &lib {
        let text = code(text);
        let mut lines = text.lines();
        while let Some(l) = lines.next() {
            let t = l.trim_start();
            if t.starts_with("pub enum") || t.starts_with("pub trait") {
                let indent = l.len() - t.len();
                for body in lines.by_ref() {
                    signatures.push_str(body);
                    signatures.push('\n');
                    if body.len() - body.trim_start().len() == indent && body.trim() == "}" {
                        break;
                    }
                }
            } else if t.starts_with("pub ") && !t.starts_with("pub struct") {
                let mut part = t.to_string();
                let done = |p: &str| {
                    let open = p.matches('(').count() == p.matches(')').count();
                    p.contains('{')
                        || p.trim_end().ends_with(';')
                        || (open && p.trim_end().ends_with(','))
                };
                while !done(&part) {
                    match lines.next() {
                        Some(next) => part.push_str(next),
                        None => break,
                    }
                }
                signatures.push_str(&part);
                signatures.push('\n');
            }
        }
    }
    let mut unused = Vec::new();
    for (rel, text) in &lib {
        let Some(own) = layer(rel) else {
            continue;
        };
        let elsewhere: Vec<String> = lib
            .iter()
            .filter(|(r, _)| layer(r) != Some(own))
            .map(|(_, t)| code(t))
            .collect();
        for (line, name) in pub_items(&code(text)) {
            let in_api = ["struct", "enum", "trait", "type"].iter().any(|kw| {
                code(text)
                    .lines()
                    .nth(line - 1)
                    .is_some_and(|l| l.trim_start().starts_with(&format!("pub {kw}")))
            }) && names(&signatures, &name);
            if !in_api && !names(&callers, &name) && !elsewhere.iter().any(|t| names(t, &name)) {
                unused.push(format!("{rel}:{line}: pub {name}"));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "pub items that no other layer, test, bench, fuzz target or the Python package uses (make them pub(crate) or narrower):\n{}",
        unused.join("\n")
    );
}
