//! The shipped example configs load cleanly and render without secrets.

use std::collections::HashMap;
use std::path::Path;

use vrrpd::config::{AuthConfig, UnknownHost, load, render_seeded};

fn examples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/examples"))
}

#[test]
fn example_config_loads_cleanly() {
    let env: HashMap<String, String> = HashMap::new();
    let loaded = load(examples(), &env, &UnknownHost).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let names: Vec<&str> = loaded
        .config
        .groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(names, ["web-private", "web-public"]);
    let private = &loaded.config.groups[0];
    assert_eq!(private.priority, 150);
    assert!(matches!(private.auth, Some(AuthConfig::Ah { .. })));
    assert_eq!(private.sync_group.as_deref(), Some("edge"));
    let public = &loaded.config.groups[1];
    assert_eq!(public.excluded_ips.len(), 2);
    let text = render_seeded(&loaded.config);
    println!("{text}");
    assert!(!text.contains("secret12"));
}
