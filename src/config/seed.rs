//! Environment seeding (SPEC §2.4): `${NAME}` / `${NAME:-default}` in any
//! string value, from the process environment overlaid by the `KEY=VALUE`
//! output of the `$ENVIRONMENT_INIT` (or `environment_init`) executable.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where variable values come from. The daemon uses [`ProcessEnv`]; tests pass
/// a `HashMap<String, String>` so they never mutate the process environment.
pub trait EnvSource {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl EnvSource for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// The environment the config is seeded from: a base source overlaid by the
/// seed executable's output (the overlay wins).
pub(crate) struct SeededEnv<'a> {
    pub base: &'a dyn EnvSource,
    pub overlay: HashMap<String, String>,
}

impl SeededEnv<'_> {
    pub fn get(&self, name: &str) -> Option<String> {
        self.overlay
            .get(name)
            .cloned()
            .or_else(|| self.base.var(name))
    }
}

/// Name of the variable that names the seed executable.
pub const ENVIRONMENT_INIT: &str = "ENVIRONMENT_INIT";
/// Optional variable overriding the seed executable's timeout (a duration string).
pub const ENVIRONMENT_INIT_TIMEOUT: &str = "VRRPD_ENVIRONMENT_INIT_TIMEOUT";
/// Default time the seed executable may run before it is killed.
pub const DEFAULT_SEED_TIMEOUT: Duration = Duration::from_secs(10);

/// A substitution failure, at a byte offset inside the (decoded) string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SubstError {
    pub offset: usize,
    pub message: String,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Replace every `${NAME}` / `${NAME:-default}` in `input`.
///
/// `$${` is a literal `${`; any other `$` is literal. `${NAME:-default}` uses
/// the default when NAME is unset or empty (shell semantics); the default is
/// literal text (no nesting).
pub(crate) fn substitute(input: &str, env: &SeededEnv<'_>) -> Result<String, SubstError> {
    let mut out = String::with_capacity(input.len());
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < input.len() {
        if input[i..].starts_with("$${") {
            out.push_str("${");
            i += 3;
            continue;
        }
        if input[i..].starts_with("${") {
            let close = input[i..].find('}').ok_or_else(|| SubstError {
                offset: i,
                message: "unterminated variable reference: missing '}'".to_string(),
            })?;
            let inner = &input[i + 2..i + close];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            if !valid_name(name) {
                return Err(SubstError {
                    offset: i,
                    message: format!(
                        "bad variable reference \"${{{inner}}}\": use ${{NAME}} or ${{NAME:-default}}"
                    ),
                });
            }
            let value = match (env.get(name), default) {
                (Some(v), Some(d)) if v.is_empty() => d.to_string(),
                (Some(v), _) => v,
                (None, Some(d)) => d.to_string(),
                (None, None) => {
                    return Err(SubstError {
                        offset: i,
                        message: format!(
                            "variable ${{{name}}} is not set and has no default (write ${{{name}:-default}})"
                        ),
                    });
                }
            };
            out.push_str(&value);
            i += close + 1;
            continue;
        }
        // Copy one UTF-8 character.
        let ch_len = utf8_len(bytes[i]);
        out.push_str(&input[i..i + ch_len]);
        i += ch_len;
    }
    Ok(out)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Run the seed executable (no shell, no arguments) and parse its `KEY=VALUE`
/// lines. Blank lines and lines starting with `#` are ignored.
pub(crate) fn run_seed(
    program: &Path,
    timeout: Duration,
) -> Result<HashMap<String, String>, String> {
    let shown = program.display();
    let mut child = Command::new(program)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run environment_init {shown}: {e}"))?;
    // Drain both pipes on threads so a chatty seed cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_t = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err_t = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "environment_init {shown} timed out after {} and was killed",
                    super::duration::format_duration(timeout)
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("environment_init {shown}: wait failed: {e}")),
        }
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    if !status.success() {
        let err = String::from_utf8_lossy(&stderr);
        let err = err.trim();
        let tail = if err.is_empty() {
            String::new()
        } else {
            format!(": {}", err.lines().last().unwrap_or(err))
        };
        return Err(format!("environment_init {shown} failed ({status}){tail}"));
    }
    let text = String::from_utf8(stdout)
        .map_err(|_| format!("environment_init {shown} printed output that is not UTF-8"))?;
    parse_seed_output(&text).map_err(|e| format!("environment_init {shown}: {e}"))
}

/// Parse `KEY=VALUE` lines (blank lines and `#` comments ignored).
pub(crate) fn parse_seed_output(text: &str) -> Result<HashMap<String, String>, String> {
    let mut vars = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "output line {}: expected KEY=VALUE, got {line:?}",
                n + 1
            ));
        };
        if !valid_name(key) {
            return Err(format!("output line {}: bad variable name {key:?}", n + 1));
        }
        vars.insert(key.to_string(), value.to_string());
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn substitutes() {
        let base = env(&[("A", "x"), ("E", "")]);
        let s = SeededEnv {
            base: &base,
            overlay: env(&[("B", "y")]),
        };
        assert_eq!(substitute("a${A}b${B}c", &s).unwrap(), "axbyc");
        assert_eq!(substitute("${C:-d}", &s).unwrap(), "d");
        assert_eq!(substitute("${E:-d}", &s).unwrap(), "d");
        assert_eq!(substitute("${E}", &s).unwrap(), "");
        assert_eq!(substitute("$${A} $x é", &s).unwrap(), "${A} $x é");
        assert_eq!(substitute("ab${C}", &s).unwrap_err().offset, 2);
        assert!(substitute("${A", &s).is_err());
        assert!(substitute("${1A}", &s).is_err());
    }

    #[test]
    fn parses_seed_lines() {
        let v = parse_seed_output("A=1\n\n# c\nB=x=y\n").unwrap();
        assert_eq!(v["A"], "1");
        assert_eq!(v["B"], "x=y");
        assert!(parse_seed_output("oops\n").is_err());
        assert!(parse_seed_output("1A=2\n").is_err());
    }
}
