//! keepalived's config language: lines of words, `{ }` blocks, `#` / `!`
//! comments, `"quoted strings"`, `$NAME=value` definitions, `@id`
//! conditional lines and `include` (globs, relative to the including file).
//! Every word keeps its file and line.
//!
//! Choices (keepalived's `lib/parser.c` where it is clear):
//! - A comment starts at `#` or `!` anywhere on a line outside double quotes
//!   and runs to the end of the line (`auth_pass Kp!9x2Lm` is `Kp`,
//!   `priority 100#main` is 100, `script "[ ! -f /x ]"` keeps its `!`).
//!   `\#` and `\!` outside quotes are a literal `#` / `!`. Single quotes do
//!   not protect a comment character (keepalived reads them only in scripts).
//! - `@ID line` is read only when ID is the config id, `@^ID line` only when
//!   it is not; the config id is `--config-id`, else this host's name up to
//!   the first `.` (keepalived's default).
//! - `$NAME=value` at the start of a line defines NAME for the lines after it
//!   (a trailing `\` continues the value on the next line: a multi-line
//!   definition); `$NAME` (followed by a blank, `,`, `)` or the end of the
//!   line) and `${NAME}` are replaced by the value. An undefined `$NAME` is
//!   left as it is. A multi-line value is expanded only where the reference
//!   ends the line; its lines become lines of their own. `$_INSTANCE` is the
//!   config id, `$_PWD` the directory of the file being read. `~SEQ` and
//!   `$_RANDOM` are errors (a converted config must be static).
//! - `{` and `}` are words of their own even when glued to a neighbour; `{`
//!   may open on the keyword's line or on the next non-blank line; a block may
//!   sit on one line (`unicast_peer { 192.0.2.2 }`).
//! - `include PATTERN...` must be alone on its line; relative patterns are
//!   relative to the including file's directory; `*`, `?` and `[...]` globs
//!   match sorted, hidden files only when the pattern starts with `.`. A
//!   literal path that does not exist is an error; a glob matching nothing is
//!   a warning. Nesting is limited to [`MAX_INCLUDE_DEPTH`]; a file that
//!   includes itself (directly or not) is an error.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// How deep `include` may nest.
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// Where a word came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: Rc<PathBuf>,
    pub line: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A parse error: `file:line: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub loc: Option<Loc>,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loc {
            Some(l) => write!(f, "{l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn err(loc: &Loc, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        loc: Some(loc.clone()),
        message: message.into(),
    }
}

/// One word of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub quoted: bool,
    pub loc: Loc,
}

/// `keyword args... [{ children }]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    pub key: Word,
    pub args: Vec<Word>,
    /// The source text after the keyword on its line (for commands, which
    /// keepalived re-splits with its own quoting rules).
    pub rest: String,
    pub block: Option<Vec<Stmt>>,
}

impl Stmt {
    pub fn loc(&self) -> &Loc {
        &self.key.loc
    }
    pub fn children(&self) -> &[Stmt] {
        self.block.as_deref().unwrap_or(&[])
    }
}

#[derive(Clone, Debug)]
enum Tok {
    Word(Word, Rc<str>, usize),
    Open(Loc),
    Close(Loc),
    Eol,
}

/// Warnings found while reading (globs matching nothing).
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub stmts: Vec<Stmt>,
    pub warnings: Vec<(Loc, String)>,
    /// Every file read, in order.
    pub files: Vec<PathBuf>,
    /// The config id `@ID` lines were matched against.
    pub config_id: String,
    /// Every `@ID` / `@^ID` line: where, and whether it was read.
    pub conditionals: Vec<(Loc, bool)>,
}

/// How to read a keepalived config.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// keepalived's `--config-id`; `None`: this host's name up to the first
    /// `.`, as keepalived does.
    pub config_id: Option<String>,
}

/// keepalived's default config id: the node name up to the first `.`.
pub fn default_config_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    host.trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Read `path` (and its includes) into statements, with the default options.
pub fn parse_file(path: &Path) -> Result<Parsed, SyntaxError> {
    parse_file_with(path, &ReadOptions::default())
}

/// Read `path` (and its includes) into statements.
pub fn parse_file_with(path: &Path, opts: &ReadOptions) -> Result<Parsed, SyntaxError> {
    let mut reader = Reader {
        config_id: opts.config_id.clone().unwrap_or_else(default_config_id),
        ..Reader::default()
    };
    reader.read(path, None, 0)?;
    let mut p = TreeParser {
        toks: reader.toks,
        pos: 0,
    };
    let stmts = p.block(None)?;
    Ok(Parsed {
        stmts,
        warnings: reader.warnings,
        files: reader.files,
        config_id: reader.config_id,
        conditionals: reader.conditionals,
    })
}

/// A `$NAME=value` definition: its lines (one unless continued with `\`).
#[derive(Clone, Debug)]
struct Def {
    lines: Vec<String>,
    multiline: bool,
}

/// How often one line may be expanded again (a definition that refers to
/// itself would grow for ever).
const MAX_EXPANSIONS: usize = 32;
/// Longest line after expanding definitions (keepalived stops at its buffer
/// size too): `$A=$A $A` doubles on every pass.
const MAX_LINE_LEN: usize = 64 * 1024;
/// Most lines multi-line definitions may produce in one read (a value that
/// expands into two copies of itself doubles on every level).
const MAX_EXPANDED_LINES: usize = 100_000;

#[derive(Default)]
struct Reader {
    toks: Vec<Tok>,
    /// (canonical path, path as named) of the files being read.
    stack: Vec<(PathBuf, PathBuf)>,
    warnings: Vec<(Loc, String)>,
    files: Vec<PathBuf>,
    config_id: String,
    conditionals: Vec<(Loc, bool)>,
    defs: HashMap<String, Def>,
    /// The multi-line definition still being read.
    open_def: Option<String>,
    /// Lines produced by multi-line definitions so far.
    expanded_lines: usize,
}

impl Reader {
    fn read(&mut self, path: &Path, from: Option<&Loc>, depth: usize) -> Result<(), SyntaxError> {
        let mk = |m: String| match from {
            Some(l) => err(l, m),
            None => SyntaxError {
                loc: None,
                message: m,
            },
        };
        let text = std::fs::read(path).map_err(|e| mk(format!("{}: {e}", path.display())))?;
        let text = String::from_utf8_lossy(&text).into_owned();
        let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(i) = self.stack.iter().position(|p| p.0 == canon) {
            let chain: Vec<String> = self.stack[i..]
                .iter()
                .map(|p| p.1.display().to_string())
                .chain(std::iter::once(path.display().to_string()))
                .collect();
            return Err(mk(format!("include cycle: {}", chain.join(" -> "))));
        }
        if depth > MAX_INCLUDE_DEPTH {
            return Err(mk(format!(
                "include nested deeper than {MAX_INCLUDE_DEPTH} levels"
            )));
        }
        self.stack.push((canon, path.to_path_buf()));
        self.files.push(path.to_path_buf());
        let file = Rc::new(path.to_path_buf());
        for (i, raw) in text.lines().enumerate() {
            let loc = Loc {
                file: file.clone(),
                line: i + 1,
            };
            for line in self.logical_lines(raw, &loc)? {
                self.line(path, &line, &loc, depth)?;
            }
        }
        self.stack.pop();
        Ok(())
    }

    /// One line after comments, conditionals and definitions: an include, or
    /// tokens.
    fn line(
        &mut self,
        path: &Path,
        line: &str,
        loc: &Loc,
        depth: usize,
    ) -> Result<(), SyntaxError> {
        let loc = loc.clone();
        {
            let toks = lex_line(line, &loc)?;
            if let Some(Tok::Word(w, ..)) = toks.first()
                && w.text == "include"
                && !w.quoted
            {
                let pats: Vec<&Word> = toks
                    .iter()
                    .skip(1)
                    .filter_map(|t| match t {
                        Tok::Word(w, ..) => Some(w),
                        _ => None,
                    })
                    .collect();
                if pats.is_empty() || pats.len() + 1 != toks.len() {
                    return Err(err(
                        &loc,
                        "include: expected file names (alone on the line)",
                    ));
                }
                for pat in pats {
                    self.include(path, &pat.text, &loc, depth)?;
                }
                return Ok(());
            }
            if !toks.is_empty() {
                self.toks.extend(toks);
                self.toks.push(Tok::Eol);
            }
        }
        Ok(())
    }

    /// The lines keepalived reads from one line of a file: none (a comment,
    /// a definition, a conditional line for another id), one, or several (a
    /// multi-line definition expanded).
    fn logical_lines(&mut self, raw: &str, loc: &Loc) -> Result<Vec<String>, SyntaxError> {
        let line = decomment(raw).map_err(|m| err(loc, m))?;
        if let Some(name) = self.open_def.clone() {
            // Continuation of a multi-line definition; a blank line ends it.
            let Some(def) = self.defs.get_mut(&name) else {
                self.open_def = None;
                return Ok(Vec::new());
            };
            match line.strip_suffix('\\') {
                Some(body) => {
                    let body = body.trim_end();
                    if !body.is_empty() {
                        def.lines.push(body.to_string());
                    }
                }
                None => {
                    if !line.is_empty() {
                        def.lines.push(line);
                    }
                    self.open_def = None;
                }
            }
            if def.lines.is_empty() && self.open_def.is_none() {
                def.multiline = false;
            }
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        if !line.is_empty() {
            self.expand(line, loc, 0, &mut out)?;
        }
        Ok(out)
    }

    fn expand(
        &mut self,
        mut line: String,
        loc: &Loc,
        depth: usize,
        out: &mut Vec<String>,
    ) -> Result<(), SyntaxError> {
        for _ in 0..MAX_EXPANSIONS {
            if let Some(rest) = line.strip_prefix('@') {
                let (negate, rest) = match rest.strip_prefix('^') {
                    Some(r) => (true, r),
                    None => (false, rest),
                };
                // `@ID` with nothing after it is dropped, as keepalived does.
                let Some(ws) = rest.find([' ', '\t']) else {
                    self.conditionals.push((loc.clone(), false));
                    return Ok(());
                };
                let keep = (rest[..ws] == *self.config_id) != negate;
                self.conditionals.push((loc.clone(), keep));
                if !keep {
                    return Ok(());
                }
                line = rest[ws..].trim_start_matches([' ', '\t']).to_string();
            }
            if let Some((name, value)) = definition(&line) {
                let (value, multiline) = match value.strip_suffix('\\') {
                    Some(v) => (v.trim_end().to_string(), true),
                    None => (value.to_string(), false),
                };
                let lines = if value.is_empty() {
                    Vec::new()
                } else {
                    vec![value]
                };
                if multiline {
                    self.open_def = Some(name.clone());
                }
                self.defs.insert(name, Def { lines, multiline });
                return Ok(());
            }
            if line.starts_with("~SEQ") {
                return Err(err(
                    loc,
                    "~SEQ is not supported: write the lines it generates out by hand",
                ));
            }
            if !line.contains('$') {
                break;
            }
            let Some(mut lines) = self.replace(&line, loc)? else {
                break;
            };
            if lines.len() == 1 {
                line = lines.remove(0);
                continue;
            }
            self.expanded_lines += lines.len();
            if depth >= MAX_EXPANSIONS || self.expanded_lines > MAX_EXPANDED_LINES {
                return Err(err(
                    loc,
                    format!(
                        "multi-line definitions expand too far here (more than {MAX_EXPANSIONS} levels or {MAX_EXPANDED_LINES} lines)"
                    ),
                ));
            }
            for l in lines {
                self.expand(l, loc, depth + 1, out)?;
            }
            return Ok(());
        }
        if line.contains('$') && self.replace(&line, loc)?.is_some() {
            return Err(err(
                loc,
                format!(
                    "definitions expand more than {MAX_EXPANSIONS} times here (does one refer to itself?)"
                ),
            ));
        }
        if !line.is_empty() {
            out.push(line);
        }
        Ok(())
    }

    /// Replace every defined `$NAME` / `${NAME}` in `line` once. `None` when
    /// nothing was replaced; several lines when a multi-line value was.
    fn replace(&self, line: &str, loc: &Loc) -> Result<Option<Vec<String>>, SyntaxError> {
        let mut out = String::new();
        let mut found = false;
        let mut i = 0;
        while let Some(off) = line[i..].find('$') {
            let at = i + off;
            out.push_str(&line[i..at]);
            let after = &line[at + 1..];
            let Some((name, len)) = reference(after) else {
                out.push('$');
                i = at + 1;
                continue;
            };
            let ends_line = at + 1 + len == line.len();
            let value: Option<Vec<String>> = match self.defs.get(name) {
                Some(d) if d.multiline && !ends_line => None,
                Some(d) => Some(d.lines.clone()),
                None => match name {
                    "_INSTANCE" => Some(vec![self.config_id.clone()]),
                    "_PWD" => Some(vec![
                        loc.file
                            .parent()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                    ]),
                    "_RANDOM" => {
                        return Err(err(
                            loc,
                            "$_RANDOM is not supported: a converted config must be the same on every run",
                        ));
                    }
                    _ => None,
                },
            };
            let Some(mut value) = value else {
                out.push('$');
                i = at + 1;
                continue;
            };
            found = true;
            i = at + 1 + len;
            if value.len() > 1 {
                // Only at the end of the line: the other lines follow it.
                out.push_str(&value.remove(0));
                let mut lines = vec![out];
                lines.extend(value);
                return Ok(Some(lines));
            }
            out.push_str(value.first().map(String::as_str).unwrap_or(""));
            if out.len() > MAX_LINE_LEN {
                return Err(err(
                    loc,
                    format!("line longer than {MAX_LINE_LEN} bytes after expanding definitions"),
                ));
            }
        }
        out.push_str(&line[i..]);
        if out.len() > MAX_LINE_LEN {
            return Err(err(
                loc,
                format!("line longer than {MAX_LINE_LEN} bytes after expanding definitions"),
            ));
        }
        Ok(found.then(|| vec![out]))
    }

    fn include(
        &mut self,
        including: &Path,
        pattern: &str,
        loc: &Loc,
        depth: usize,
    ) -> Result<(), SyntaxError> {
        let base = including.parent().unwrap_or(Path::new("."));
        let full = if Path::new(pattern).is_absolute() {
            PathBuf::from(pattern)
        } else {
            base.join(pattern)
        };
        if !has_glob(pattern) {
            if !full.exists() {
                return Err(err(
                    loc,
                    format!("include: {}: no such file", full.display()),
                ));
            }
            return self.read(&full, Some(loc), depth + 1);
        }
        let matches = glob(&full);
        if matches.is_empty() {
            self.warnings.push((
                loc.clone(),
                format!("include: no file matches {}", full.display()),
            ));
        }
        for m in matches {
            self.read(&m, Some(loc), depth + 1)?;
        }
        Ok(())
    }
}

/// keepalived's `decomment()`: leading blanks, and everything from the first
/// `#` or `!` outside double quotes, go; `\#` / `\!` outside quotes become
/// `#` / `!`; trailing blanks go; a final `\` (continuation) stays.
fn decomment(raw: &str) -> Result<String, &'static str> {
    let line = raw.trim_start_matches([' ', '\t']);
    let mut out = String::with_capacity(line.len());
    let mut quote = false;
    let mut cont = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quote = !quote;
                out.push(c);
            }
            '\\' => match chars.next() {
                None => {
                    cont = true;
                    break;
                }
                Some(n @ ('#' | '!')) if !quote => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
            },
            '#' | '!' if !quote => break,
            c => out.push(c),
        }
    }
    if quote {
        return Err("unterminated quoted string");
    }
    let mut out = out.trim_end_matches([' ', '\t', '\r']).to_string();
    if cont {
        out.push('\\');
    }
    Ok(out)
}

/// `$NAME=value` (blanks allowed before `=`): the name and the value with
/// its leading blanks removed.
fn definition(line: &str) -> Option<(String, &str)> {
    let body = line.strip_prefix('$')?;
    let first = body.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let rest = body[name_len..].trim_start_matches([' ', '\t']);
    let value = rest.strip_prefix('=')?;
    Some((
        body[..name_len].to_string(),
        value.trim_start_matches([' ', '\t']),
    ))
}

/// A reference after a `$`: `NAME` (followed by a blank, `,`, `)` or the
/// end) or `{NAME}` (`{NAME 1 2}`: parameters, for `$_RANDOM`). The name and
/// how many bytes after the `$` it takes.
fn reference(s: &str) -> Option<(&str, usize)> {
    let braces = s.starts_with('{');
    let body = if braces { &s[1..] } else { s };
    let first = body.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let name = &body[..name_len];
    if braces {
        let params = body[name_len..]
            .find(|c: char| !(c == ' ' || c.is_ascii_digit()))
            .unwrap_or(body.len() - name_len);
        if body[name_len + params..].starts_with('}') {
            Some((name, 1 + name_len + params + 1))
        } else {
            None
        }
    } else {
        match body[name_len..].chars().next() {
            None | Some(' ' | '\t' | ',' | ')') => Some((name, name_len)),
            _ => None,
        }
    }
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expand a glob over path components (files only at the last one).
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut current: Vec<PathBuf> = vec![PathBuf::new()];
    let comps: Vec<_> = pattern.components().collect();
    for (i, comp) in comps.iter().enumerate() {
        let part = comp.as_os_str().to_string_lossy().into_owned();
        let last = i + 1 == comps.len();
        let mut next = Vec::new();
        for dir in &current {
            if !has_glob(&part) {
                let p = dir.join(&part);
                if last && !p.is_file() {
                    continue;
                }
                next.push(p);
                continue;
            }
            let read_from = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir.as_path()
            };
            let Ok(rd) = std::fs::read_dir(read_from) else {
                continue;
            };
            let mut names: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| (!n.starts_with('.') || part.starts_with('.')) && fnmatch(&part, n))
                .collect();
            names.sort();
            for n in names {
                let p = dir.join(n);
                if (last && p.is_file()) || (!last && p.is_dir()) {
                    next.push(p);
                }
            }
        }
        current = next;
    }
    current
}

/// Shell-style match of one path component: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`.
fn fnmatch(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some('[') => {
                let Some(close) = p.iter().skip(2).position(|&c| c == ']').map(|i| i + 2) else {
                    return n.first() == Some(&'[') && go(&p[1..], &n[1..]);
                };
                let Some(&c) = n.first() else { return false };
                let mut set = &p[1..close];
                let negate = matches!(set.first(), Some('!') | Some('^'));
                if negate {
                    set = &set[1..];
                }
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= c && c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == c;
                        i += 1;
                    }
                }
                hit != negate && go(&p[close + 1..], &n[1..])
            }
            Some(&c) => n.first() == Some(&c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

fn lex_line(line: &str, loc: &Loc) -> Result<Vec<Tok>, SyntaxError> {
    let shared: Rc<str> = Rc::from(line);
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        match c {
            b'{' => {
                out.push(Tok::Open(loc.clone()));
                i += 1;
            }
            b'}' => {
                out.push(Tok::Close(loc.clone()));
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                let Some(len) = line[start..].find('"') else {
                    return Err(err(loc, "unterminated quoted string"));
                };
                let end = start + len + 1;
                out.push(Tok::Word(
                    Word {
                        text: line[start..start + len].to_string(),
                        quoted: true,
                        loc: loc.clone(),
                    },
                    shared.clone(),
                    end,
                ));
                i = end;
            }
            _ => {
                let start = i;
                while i < b.len()
                    && !b[i].is_ascii_whitespace()
                    && !matches!(b[i], b'{' | b'}' | b'"')
                {
                    // `${NAME}` / `${_ENV NAME}` stays inside the word.
                    if b[i] == b'$' && b.get(i + 1) == Some(&b'{') {
                        match line[i..].find('}') {
                            Some(end) => {
                                i += end + 1;
                                continue;
                            }
                            None => return Err(err(loc, "unterminated `${`")),
                        }
                    }
                    i += 1;
                }
                out.push(Tok::Word(
                    Word {
                        text: line[start..i].to_string(),
                        quoted: false,
                        loc: loc.clone(),
                    },
                    shared.clone(),
                    i,
                ));
            }
        }
    }
    Ok(out)
}

struct TreeParser {
    toks: Vec<Tok>,
    pos: usize,
}

impl TreeParser {
    fn peek_past_eol(&self) -> Option<&Tok> {
        self.toks[self.pos..]
            .iter()
            .find(|t| !matches!(t, Tok::Eol))
    }

    /// Statements until the matching `}` (`open` set) or the end of input.
    fn block(&mut self, open: Option<&Loc>) -> Result<Vec<Stmt>, SyntaxError> {
        let mut stmts = Vec::new();
        loop {
            let Some(tok) = self.toks.get(self.pos).cloned() else {
                return match open {
                    Some(l) => Err(err(l, "unbalanced braces: this `{` is never closed")),
                    None => Ok(stmts),
                };
            };
            self.pos += 1;
            match tok {
                Tok::Eol => {}
                Tok::Close(l) => {
                    return match open {
                        Some(_) => Ok(stmts),
                        None => Err(err(&l, "unbalanced braces: `}` without a matching `{`")),
                    };
                }
                Tok::Open(l) => {
                    return Err(err(&l, "`{` without a keyword before it"));
                }
                Tok::Word(key, line, key_end) => {
                    let rest = line[key_end..].trim().to_string();
                    let mut args = Vec::new();
                    let mut block = None;
                    loop {
                        match self.toks.get(self.pos).cloned() {
                            Some(Tok::Word(w, ..)) => {
                                args.push(w);
                                self.pos += 1;
                            }
                            Some(Tok::Open(l)) => {
                                self.pos += 1;
                                block = Some(self.block(Some(&l))?);
                                break;
                            }
                            Some(Tok::Eol) => {
                                // `{` on the next line opens this statement's block.
                                if let Some(Tok::Open(_)) = self.peek_past_eol() {
                                    while matches!(self.toks.get(self.pos), Some(Tok::Eol)) {
                                        self.pos += 1;
                                    }
                                    continue;
                                }
                                break;
                            }
                            // `}` or end of input: handled by the enclosing loop.
                            _ => break,
                        }
                    }
                    stmts.push(Stmt {
                        key,
                        args,
                        rest,
                        block,
                    });
                }
            }
        }
    }
}

/// Split a command line the way keepalived does for scripts: words separated
/// by blanks, `"..."` and `'...'` quoting, `\` escaping the next character
/// (comments are already gone: [`decomment`] ran first). Returns the words and
/// whether an unquoted shell operator was seen (`|`, `&`, `;`, `<`, `>`,
/// `$(`, backquote).
pub fn split_command(s: &str) -> (Vec<String>, bool) {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut shell = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '{' | '}' if !in_word => break,
            '\\' => {
                in_word = true;
                if let Some(n) = unescape(&mut chars) {
                    cur.push(n);
                }
            }
            '"' | '\'' => {
                in_word = true;
                while let Some(n) = chars.next() {
                    if n == c {
                        break;
                    }
                    if n == '\\' {
                        if let Some(e) = unescape(&mut chars) {
                            cur.push(e);
                        }
                        continue;
                    }
                    cur.push(n);
                }
            }
            _ => {
                if matches!(c, '|' | '&' | ';' | '<' | '>' | '`')
                    || (c == '$' && chars.peek() == Some(&'('))
                {
                    shell = true;
                }
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    (words, shell)
}

/// The character after a `\\` in a script, as keepalived's
/// `alloc_strvec_quoted_escaped` reads it (inside quotes too): `\\n`, `\\t`,
/// `\\r`, `\\a`, `\\b`, `\\f`, `\\v`, `\\E` (escape), `\\xHH`, `\\cX`
/// (control), `\\NNN` (octal), else the character itself.
fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    let c = chars.next()?;
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'E' => Some('\u{1b}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        _ => None,
    };
    if simple.is_some() {
        return simple;
    }
    if c == 'x' && chars.peek().is_some_and(char::is_ascii_hexdigit) {
        let mut v: u32 = 0;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(16)) {
            v = (v << 4 | d) & 0xff;
            chars.next();
        }
        return char::from_u32(v);
    }
    if c == 'c'
        && let Some(&n) = chars.peek()
    {
        chars.next();
        return char::from_u32(u32::from(n) & 0x1f);
    }
    if let Some(d) = c.to_digit(8) {
        let mut v = d;
        for _ in 0..2 {
            match chars.peek().and_then(|d| d.to_digit(8)) {
                Some(d) => {
                    v = v << 3 | d;
                    chars.next();
                }
                None => break,
            }
        }
        return char::from_u32(v & 0xff);
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decomment_follows_keepalived() {
        assert_eq!(decomment("  auth_pass Kp!9x2Lm").unwrap(), "auth_pass Kp");
        assert_eq!(decomment("priority 100#main").unwrap(), "priority 100");
        assert_eq!(
            decomment(r#"script "[ ! -f /x ]" # c"#).unwrap(),
            r#"script "[ ! -f /x ]""#
        );
        assert_eq!(decomment(r"a\#b").unwrap(), "a#b");
        assert_eq!(decomment(r#""a\#b""#).unwrap(), r#""a\#b""#);
        assert_eq!(decomment("$X=a \\").unwrap(), "$X=a\\");
        assert!(decomment(r#"script "open"#).is_err());
    }

    #[test]
    fn definitions_and_references() {
        assert_eq!(definition("$A=1"), Some(("A".into(), "1")));
        assert_eq!(definition("$_B2 =  x y"), Some(("_B2".into(), "x y")));
        assert_eq!(definition("$1=x"), None);
        assert_eq!(definition("$A x"), None);
        assert_eq!(reference("A b"), Some(("A", 1)));
        assert_eq!(reference("{A}b"), Some(("A", 3)));
        assert_eq!(reference("Ab,"), Some(("Ab", 2)));
        assert_eq!(reference("A.b"), None);
        assert_eq!(reference("{_RANDOM 1 9}"), Some(("_RANDOM", 13)));
        assert_eq!(reference("(cmd)"), None);
    }

    fn read_text(text: &str) -> Result<Parsed, SyntaxError> {
        let dir = std::env::temp_dir().join(format!(
            "vrrpd-syntax-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("k.conf");
        std::fs::write(&f, text).unwrap();
        let r = parse_file_with(
            &f,
            &ReadOptions {
                config_id: Some("x".into()),
            },
        );
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    #[test]
    fn self_doubling_definitions_are_bounded_errors() {
        // One line doubling on every pass.
        let e = read_text("$A=$A $A\nvrrp_instance $A\n").unwrap_err();
        assert!(e.to_string().contains("k.conf:2"), "{e}");
        // A multi-line value holding two copies of itself.
        let e = read_text("$B=x \\\n$B \\\n$B\n\nvrrp_instance V {\n$B\n}\n").unwrap_err();
        assert!(e.to_string().contains("expand"), "{e}");
        // A long but finite expansion is fine.
        let p = read_text("$C=a b c\nvrrp_instance $C {\n}\n").unwrap();
        assert_eq!(p.stmts[0].args.len(), 3);
    }

    #[test]
    fn split_command_escapes_like_keepalived() {
        assert_eq!(
            split_command(r#""a\tb" 'c\x41' d\061"#).0,
            vec!["a\tb".to_string(), "cA".into(), "d1".into()]
        );
    }

    #[test]
    fn fnmatch_basics() {
        assert!(fnmatch("*.conf", "a.conf"));
        assert!(!fnmatch("*.conf", "a.conf.bak"));
        assert!(fnmatch("vi_[0-9].conf", "vi_3.conf"));
        assert!(fnmatch("vi_[!0-9].conf", "vi_x.conf"));
        assert!(fnmatch("?.c", "a.c"));
    }

    #[test]
    fn split_command_quotes_and_shell() {
        assert_eq!(
            split_command(r#"/bin/x "a b" 'c d' e\ f"#),
            (
                vec!["/bin/x".into(), "a b".into(), "c d".into(), "e f".into()],
                false
            )
        );
        assert!(split_command("pidof haproxy || exit 1").1);
        assert!(!split_command("curl 'http://x/?a=1&b=2'").1);
        assert!(split_command("test -f $(cat /x)").1);
    }
}
