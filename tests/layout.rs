//! The shape rules of src/, checked on every test run so that nobody has to
//! remember them (no root needed):
//! - `unsafe` code only in src/sys.rs, and `allow(unsafe_code)` only on that
//!   module's declaration (Cargo.toml's [lints] denies it everywhere else);
//! - no import cycle between source files (a file may use its parent module's
//!   items; any other cycle fails);
//! - no function longer than 80 lines and no file longer than 800 lines,
//!   not counting `#[cfg(test)]` code;
//! - no environment variable read at run time anywhere in src/ (a setuid
//!   program's caller controls them), tests included;
//! - every function of the tests' shell library (tests/lib/*.sh) defined
//!   once: a script sourcing two libraries gets the later one's silently.
//!
//! It reads the sources as text with a small lexer (strings, raw strings,
//! chars and comments are skipped when matching braces).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FN_LINES: usize = 80;
const MAX_FILE_LINES: usize = 800;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every .rs file under src/, relative to src/, but for unit-test modules
/// kept in files of their own (`#[cfg(test)] mod tests;`).
fn sources() -> Vec<PathBuf> {
    let all = all_sources();
    let mut tests = BTreeSet::new();
    for f in &all {
        let text = std::fs::read_to_string(src().join(f)).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for w in lines.windows(2) {
            if let ("#[cfg(test)]", Some(name)) = (w[0], w[1].strip_prefix("mod ")) {
                let name = name.trim_end_matches(';');
                let dir = match f.file_name().and_then(|n| n.to_str()) {
                    Some("mod.rs") | Some("main.rs") => f.parent().unwrap().to_path_buf(),
                    _ => f.with_extension(""),
                };
                tests.insert(dir.join(format!("{name}.rs")));
                tests.insert(dir.join(name).join("mod.rs"));
            }
        }
    }
    all.into_iter().filter(|f| !tests.contains(f)).collect()
}

fn all_sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p.strip_prefix(src()).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(&src(), &mut out);
    out
}

/// The text with string/char literal contents and comments blanked out
/// (same length, newlines kept), so braces and keywords can be matched.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'r' && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#')) {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 2 + hashes;
            let end = text[start..]
                .find(&close)
                .map_or(b.len(), |n| start + n + close.len());
            blank(&mut out, start, end - close.len());
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i + 1, j.min(b.len()));
            i = j + 1;
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let lit_end = if b.get(i + 1) == Some(&b'\\') {
                text[i + 2..].find('\'').map(|n| i + 2 + n)
            } else {
                let ch = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch) == Some(&b'\'')).then_some(i + 1 + ch)
            };
            match lit_end {
                Some(end) => {
                    blank(&mut out, i + 1, end);
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Line ranges (0-based, inclusive) of `#[cfg(test)]` items.
fn test_ranges(code: &str) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == "#[cfg(test)]" {
            let end = block_end(&lines, i + 1);
            ranges.push((i, end));
            i = end + 1;
        } else {
            i += 1;
        }
    }
    ranges
}

/// The line where the item starting at line `start` ends: its braces
/// balanced, or a `;` before any brace.
fn block_end(lines: &[&str], start: usize) -> usize {
    let mut depth = 0i32;
    let mut opened = false;
    for (n, line) in lines.iter().enumerate().skip(start) {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                ';' if !opened && depth == 0 => return n,
                _ => {}
            }
        }
        if opened && depth == 0 {
            return n;
        }
    }
    lines.len() - 1
}

fn in_tests(ranges: &[(usize, usize)], line: usize) -> bool {
    ranges.iter().any(|&(a, b)| a <= line && line <= b)
}

fn is_fn_start(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "fn")?;
    let before_ok = words[..at].iter().all(|w| {
        matches!(
            *w,
            "pub" | "const" | "async" | "unsafe" | "extern" | "\"C\"" | "\"\""
        ) || w.starts_with("pub(")
    });
    let name = words.get(at + 1)?;
    before_ok.then(|| name.split(['(', '<']).next().unwrap_or(name).to_string())
}

#[test]
fn unsafe_code_only_in_sys() {
    let mut bad = Vec::new();
    for f in sources() {
        let text = std::fs::read_to_string(src().join(&f)).unwrap();
        let code = code_only(&text);
        for (n, line) in code.lines().enumerate() {
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .collect();
            let unsafe_kw = words.contains(&"unsafe");
            let allow = line.contains("allow(unsafe_code)") || line.contains("allow(unsafe_op");
            if f != Path::new("sys.rs") && unsafe_kw {
                bad.push(format!(
                    "src/{}:{}: unsafe outside sys.rs",
                    f.display(),
                    n + 1
                ));
            }
            if allow {
                let next = code.lines().nth(n + 1).unwrap_or("");
                if f != Path::new("main.rs") || next.trim() != "mod sys;" {
                    bad.push(format!(
                        "src/{}:{}: allow(unsafe_code) outside `mod sys;`",
                        f.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn no_environment_is_read() {
    let mut bad = Vec::new();
    for f in all_sources() {
        let code = code_only(&std::fs::read_to_string(src().join(&f)).unwrap());
        for (n, line) in code.lines().enumerate() {
            let reads = [
                "env::var(",
                "env::var_os(",
                "env::vars(",
                "env::vars_os(",
                "getenv",
            ];
            if reads.iter().any(|r| line.contains(r)) {
                bad.push(format!(
                    "src/{}:{}: reads the environment",
                    f.display(),
                    n + 1
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn functions_and_files_are_short() {
    let mut bad = Vec::new();
    for f in sources() {
        let text = std::fs::read_to_string(src().join(&f)).unwrap();
        let code = code_only(&text);
        let lines: Vec<&str> = code.lines().collect();
        let tests = test_ranges(&code);
        let non_test = (0..lines.len()).filter(|&n| !in_tests(&tests, n)).count();
        if non_test > MAX_FILE_LINES {
            bad.push(format!(
                "src/{}: {non_test} lines outside tests (at most {MAX_FILE_LINES})",
                f.display()
            ));
        }
        for (n, line) in lines.iter().enumerate() {
            if in_tests(&tests, n) {
                continue;
            }
            if let Some(name) = is_fn_start(line) {
                let len = block_end(&lines, n) - n + 1;
                if len > MAX_FN_LINES {
                    bad.push(format!(
                        "src/{}:{}: fn {name} is {len} lines (at most {MAX_FN_LINES})",
                        f.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The module path of a source file: main.rs -> [], network/mod.rs ->
/// [network], network/steps.rs -> [network, steps].
fn module_of(file: &Path) -> Vec<String> {
    let mut parts: Vec<String> = file
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "main") {
        parts.pop();
    }
    parts
}

/// Every `crate::`/`super::`/`self::` path in the code, expanded through
/// `{...}` groups, as absolute module paths.
fn referenced_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        let base = if starts_word && rest.starts_with("crate::") {
            Some((Vec::new(), 7))
        } else if starts_word && rest.starts_with("super::") {
            Some((module[..module.len().saturating_sub(1)].to_vec(), 7))
        } else if starts_word && rest.starts_with("self::") {
            Some((module.to_vec(), 6))
        } else {
            None
        };
        match base {
            Some((prefix, skip)) => {
                i = expand(&chars, i + skip, prefix, &mut out);
            }
            None => i += 1,
        }
    }
    out
}

/// Parse `a::b::{c, d::e}` from `i`, pushing full paths; returns the index
/// after it.
fn expand(
    chars: &[char],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() && chars[i] == '{' {
            i += 1;
            loop {
                i = expand(chars, i, prefix.clone(), out);
                while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
                    i += 1;
                }
                if i >= chars.len() || chars[i] == '}' {
                    return i + 1;
                }
            }
        }
        let start = i;
        while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        if word == "super" {
            prefix.pop();
        } else if !word.is_empty() && word != "self" {
            prefix.push(word);
        }
        if chars[i..].starts_with(&[':', ':']) {
            i += 2;
        } else {
            out.push(prefix);
            return i;
        }
    }
}

/// The source file that defines the longest prefix of `path` that is a module.
fn file_of(path: &[String], files: &BTreeMap<Vec<String>, PathBuf>) -> Option<PathBuf> {
    (0..=path.len())
        .rev()
        .find_map(|n| files.get(&path[..n].to_vec()).cloned())
}

#[test]
fn no_import_cycles() {
    let files: BTreeMap<Vec<String>, PathBuf> =
        sources().into_iter().map(|f| (module_of(&f), f)).collect();
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (module, f) in &files {
        let code = code_only(&std::fs::read_to_string(src().join(f)).unwrap());
        let tests = test_ranges(&code);
        let non_test: String = code
            .lines()
            .enumerate()
            .filter(|(n, _)| !in_tests(&tests, *n))
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        for p in referenced_paths(&non_test, module) {
            let Some(target) = file_of(&p, &files) else {
                continue;
            };
            // Using an item of one's own parent module is how Rust modules
            // are built; it is not a cycle between concerns.
            let target_module = module_of(&target);
            if target == *f || module.starts_with(&target_module) {
                continue;
            }
            edges.entry(f.clone()).or_default().insert(target);
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        n: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        state: &mut BTreeMap<PathBuf, u8>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        state.insert(n.clone(), 1);
        stack.push(n.clone());
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for f in files.values() {
        if !state.contains_key(f) {
            if let Some(cycle) = visit(f, &edges, &mut state, &mut Vec::new()) {
                let shown: Vec<String> = cycle.iter().map(|p| p.display().to_string()).collect();
                panic!("import cycle in src/: {}", shown.join(" -> "));
            }
        }
    }
}

#[test]
fn the_checks_can_fail() {
    // The lexer blanks what is inside literals and comments...
    let code = code_only("let s = \"{ unsafe\"; // unsafe {\nlet c = '{'; fn f<'a>() {}");
    assert!(!code.contains("unsafe") && code.matches('{').count() == 1);
    // ...and the function finder measures a body.
    let body = format!("fn long() {{\n{}}}\n", "    x();\n".repeat(90));
    let code = code_only(&body);
    let lines: Vec<&str> = code.lines().collect();
    assert_eq!(is_fn_start(lines[0]).as_deref(), Some("long"));
    assert_eq!(block_end(&lines, 0), 91);
    // Paths through groups.
    let paths = referenced_paths(
        "use crate::network::{bridge, dnsmasq::config};",
        &["a".to_string()],
    );
    let want: Vec<Vec<String>> = vec![
        vec!["network".into(), "bridge".into()],
        vec!["network".into(), "dnsmasq".into(), "config".into()],
    ];
    assert_eq!(paths, want);
}

#[test]
fn shell_library_functions_are_defined_once() {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lib");
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut twice = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&lib)
        .expect("tests/lib")
        .map(|e| e.expect("tests/lib entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    files.sort();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).expect("read a library");
        for (i, line) in text.lines().enumerate() {
            let Some(func) = line.split_once("()").map(|(n, _)| n) else {
                continue;
            };
            let is_name =
                !func.is_empty() && func.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !is_name {
                continue;
            }
            let here = format!("{name}:{}", i + 1);
            if let Some(first) = seen.insert(func.to_string(), here.clone()) {
                twice.push(format!("{func}: {first} and {here}"));
            }
        }
    }
    assert!(twice.is_empty(), "defined twice:\n{}", twice.join("\n"));
}
