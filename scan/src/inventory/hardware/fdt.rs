//! A reader of flattened device trees (devicetree specification v0.4,
//! chapter 5), bounded and total: the root node's `model` and `compatible`.

fn be32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
        .ok_or_else(|| format!("truncated at offset {at}"))
}

/// The root node's `model` and `compatible` of a flattened device tree
/// (devicetree specification v0.4, chapter 5).
pub fn fdt_root(b: &[u8]) -> Result<(Option<String>, Vec<String>), String> {
    if be32(b, 0)? != 0xd00d_feed {
        return Err("bad magic".into());
    }
    let total = be32(b, 4)? as usize;
    if total > b.len() {
        return Err("truncated".into());
    }
    let off_struct = be32(b, 8)? as usize;
    let off_strings = be32(b, 12)? as usize;
    let size_strings = be32(b, 32).unwrap_or(0) as usize;
    let strings = b
        .get(off_strings..off_strings.saturating_add(size_strings).min(total))
        .ok_or("strings block out of range")?;
    let mut p = off_struct;
    let (mut depth, mut model, mut compatible) = (0u32, None, Vec::new());
    for _ in 0..100_000 {
        let tok = be32(b, p)?;
        p += 4;
        match tok {
            1 => {
                // FDT_BEGIN_NODE: NUL-terminated name, padded to 4.
                let end = b[p..]
                    .iter()
                    .position(|&x| x == 0)
                    .ok_or("unterminated node name")?;
                p = (p + end + 1 + 3) & !3;
                depth += 1;
            }
            2 => {
                depth = depth.checked_sub(1).ok_or("unbalanced nodes")?;
                if depth == 0 {
                    break;
                }
            }
            3 => {
                let len = be32(b, p)? as usize;
                let nameoff = be32(b, p + 4)? as usize;
                let val = b.get(p + 8..p + 8 + len).ok_or("property out of range")?;
                p = (p + 8 + len + 3) & !3;
                if depth == 1 {
                    let name = strings
                        .get(nameoff..)
                        .and_then(|s| s.split(|&x| x == 0).next())
                        .ok_or("bad property name offset")?;
                    match name {
                        b"model" => model = split_nul(val).into_iter().next(),
                        b"compatible" => compatible = split_nul(val),
                        _ => {}
                    }
                }
            }
            4 => {}
            9 => break,
            t => return Err(format!("unknown token {t} at offset {}", p - 4)),
        }
    }
    Ok((model, compatible))
}

/// The NUL-separated strings of a device-tree property.
pub(super) fn split_nul(b: &[u8]) -> Vec<String> {
    b.split(|x| *x == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::hardware::{collect, Options};
    use crate::root::RootFs;

    /// A minimal flattened device tree: root node with model and compatible.
    fn dtb(model: &str, compatible: &[&str]) -> Vec<u8> {
        let mut strings = b"model\0compatible\0".to_vec();
        let mut st = Vec::new();
        let push = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_be_bytes());
        let pad = |v: &mut Vec<u8>| {
            while v.len() % 4 != 0 {
                v.push(0)
            }
        };
        push(&mut st, 1);
        st.push(0);
        pad(&mut st);
        let m = format!("{model}\0").into_bytes();
        push(&mut st, 3);
        push(&mut st, m.len() as u32);
        push(&mut st, 0);
        st.extend_from_slice(&m);
        pad(&mut st);
        let c: Vec<u8> = compatible
            .iter()
            .flat_map(|x| format!("{x}\0").into_bytes())
            .collect();
        push(&mut st, 3);
        push(&mut st, c.len() as u32);
        push(&mut st, 6);
        st.extend_from_slice(&c);
        pad(&mut st);
        // A child node with its own (ignored) model.
        push(&mut st, 1);
        st.extend_from_slice(b"soc\0");
        pad(&mut st);
        push(&mut st, 3);
        push(&mut st, 4);
        push(&mut st, 0);
        st.extend_from_slice(b"xyz\0");
        push(&mut st, 2);
        push(&mut st, 2);
        push(&mut st, 9);
        let off_struct = 40u32;
        let off_strings = off_struct + st.len() as u32;
        let total = off_strings + strings.len() as u32;
        let mut h = Vec::new();
        for x in [
            0xd00d_feed,
            total,
            off_struct,
            off_strings,
            28,
            17,
            16,
            0,
            strings.len() as u32,
            st.len() as u32,
        ] {
            push(&mut h, x);
        }
        h.extend_from_slice(&st);
        h.append(&mut strings);
        h
    }

    #[test]
    fn device_tree_blob_root_model_and_compatible() {
        let b = dtb(
            "NXP i.MX8MPlus EVK board",
            &["fsl,imx8mp-evk", "fsl,imx8mp"],
        );
        let (model, compat) = fdt_root(&b).unwrap();
        assert_eq!(model.as_deref(), Some("NXP i.MX8MPlus EVK board"));
        assert_eq!(compat, ["fsl,imx8mp-evk", "fsl,imx8mp"]);
        assert!(fdt_root(&b[..20]).is_err());
        assert!(fdt_root(b"not a dtb at all").unwrap_err().contains("magic"));
        let mut bad = b.clone();
        bad[43] = 7; // first structure token → unknown
        assert!(fdt_root(&bad).unwrap_err().contains("unknown token"));
        // An image carrying it: a board component from /boot.
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("boot")).unwrap();
        std::fs::write(d.path().join("boot/imx8mp-evk.dtb"), &b).unwrap();
        std::fs::write(d.path().join("boot/broken.dtb"), b"junk").unwrap();
        let root = RootFs::new(d.path()).unwrap();
        let (hw, errors) = collect(&root, &Options::default());
        assert_eq!(hw.len(), 1);
        assert_eq!(hw[0].kind, "board");
        assert_eq!(hw[0].vendor.as_deref(), Some("fsl"));
        assert_eq!(hw[0].properties["source"], "device-tree blob");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].path.ends_with("broken.dtb"), "{errors:?}");
    }
}
