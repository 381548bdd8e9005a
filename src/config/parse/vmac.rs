//! `use_vmac`, `vmac_interface`, `vmac_xmit_base` (SPEC §1 virtual MAC mode).

use super::{FileCtx, Table};
use crate::config::VmacConfig;
use crate::proto::Family;

/// Linux interface names are at most IFNAMSIZ - 1 = 15 bytes.
const IFNAME_MAX: usize = 15;

/// The group's virtual MAC settings: `Some(None)` when off, `None` after an
/// error (already reported with its position).
pub(super) fn parse_vmac(
    ctx: &mut FileCtx<'_>,
    t: &Table<'_, '_>,
    vrid: Option<u8>,
    family: Option<Family>,
    interface: Option<&str>,
) -> Option<Option<VmacConfig>> {
    let on_v = t.get("use_vmac");
    let use_vmac = match on_v {
        Some(v) => ctx.boolean("use_vmac", v)?,
        None => false,
    };
    let name_v = t.get("vmac_interface");
    let base_v = t.get("vmac_xmit_base");
    if !use_vmac {
        for (key, v) in [("vmac_interface", name_v), ("vmac_xmit_base", base_v)] {
            if let Some(v) = v {
                ctx.err(&v.span(), format!("`{key}` needs `use_vmac = true`"));
                return None;
            }
        }
        return Some(None);
    }
    let xmit_base = match base_v {
        Some(v) => ctx.boolean("vmac_xmit_base", v)?,
        None => false,
    };
    let name = match name_v {
        Some(v) => {
            let n = ctx.nonempty_string("vmac_interface", v)?;
            let bad = n.len() > IFNAME_MAX
                || n == "."
                || n == ".."
                || n.chars().any(|c| c == '/' || c == ':' || c.is_whitespace());
            if bad {
                ctx.err(&v.span(), format!("`vmac_interface` = {n:?} is not a valid interface name (at most {IFNAME_MAX} bytes, no '/', ':' or spaces)"));
                return None;
            }
            if Some(n.as_str()) == interface {
                ctx.err(
                    &v.span(),
                    format!("`vmac_interface` = {n:?} is the group's own `interface`; the macvlan needs a name of its own"),
                );
                return None;
            }
            n
        }
        // keepalived's default names.
        None => match family? {
            Family::V4 => format!("vrrp.{}", vrid?),
            Family::V6 => format!("vrrp6.{}", vrid?),
        },
    };
    Some(Some(VmacConfig {
        interface: name,
        xmit_base,
    }))
}
