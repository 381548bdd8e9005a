//! keepalived's config language: lines of words, `{ }` blocks, `#` / `!`
//! comments, `"quoted strings"`, and `include` (globs, relative to the
//! including file). Every word keeps its file and line.
//!
//! Choices (keepalived's behaviour where it is clear):
//! - A comment starts at `#` or `!` at the start of a word (outside quotes)
//!   and runs to the end of the line; `pass#word` stays one word.
//! - `{` and `}` are words of their own even when glued to a neighbour; `{`
//!   may open on the keyword's line or on the next non-blank line; a block may
//!   sit on one line (`unicast_peer { 192.0.2.2 }`).
//! - `include PATTERN...` must be alone on its line; relative patterns are
//!   relative to the including file's directory; `*`, `?` and `[...]` globs
//!   match sorted, hidden files only when the pattern starts with `.`. A
//!   literal path that does not exist is an error; a glob matching nothing is
//!   a warning. Nesting is limited to [`MAX_INCLUDE_DEPTH`]; a file that
//!   includes itself (directly or not) is an error.

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
}

/// Read `path` (and its includes) into statements.
pub fn parse_file(path: &Path) -> Result<Parsed, SyntaxError> {
    let mut reader = Reader::default();
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
    })
}

#[derive(Default)]
struct Reader {
    toks: Vec<Tok>,
    /// (canonical path, path as named) of the files being read.
    stack: Vec<(PathBuf, PathBuf)>,
    warnings: Vec<(Loc, String)>,
    files: Vec<PathBuf>,
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
        for (i, line) in text.lines().enumerate() {
            let loc = Loc {
                file: file.clone(),
                line: i + 1,
            };
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
                continue;
            }
            self.toks.extend(toks);
            self.toks.push(Tok::Eol);
        }
        self.stack.pop();
        Ok(())
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
            b'#' | b'!' => break,
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
/// by blanks, `"..."` and `'...'` quoting, `\` escaping the next character. A
/// comment (`#`/`!` at the start of a word) ends it. Returns the words and
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
            '#' | '!' | '{' | '}' if !in_word => break,
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '"' | '\'' => {
                in_word = true;
                for n in chars.by_ref() {
                    if n == c {
                        break;
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

#[cfg(test)]
mod tests {
    use super::*;

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
