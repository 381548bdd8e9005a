//! `vrrpd check --print`: the resolved config after seeding, as TOML, with
//! every secret masked as `"***"`.

use super::Config;

/// Render the resolved config as TOML (`[daemon]`, then one `[[groups]]` per
/// group). Secrets print as `"***"`.
pub fn render_seeded(config: &Config) -> String {
    match toml::to_string(config) {
        Ok(s) => format!("# vrrpd: resolved config after seeding; secrets masked\n{s}"),
        // The schema holds only strings, integers, booleans, arrays and tables,
        // so this cannot fail; still, never panic on output.
        Err(e) => format!("# cannot render config: {e}\n"),
    }
}
