//! CPE 2.3 identity of components: the formatted-string binding (NISTIR 7695
//! §6.2), its parser, and the lookup of a package's vendor:product.
//!
//! Sources, first that knows the component wins (Contract 1, ISSUE18):
//! the image record's `CVE_PRODUCT` ([`super::yocto_record`], applied over
//! what this module found), the Yocto recipe table `scan/data/yocto-cve-product.tsv`
//! (generated from OE-core by `scripts/gen-yocto-cve-product.py`), the
//! maintained table `scan/data/cpe-products.tsv`. A component no source knows
//! gets no CPE: the collector reports it as unidentified.

use fieldattest_protocol::report::{Package, PackageSource};

mod table;
pub use table::{Kind, Table, MAINTAINED, YOCTO};

/// Longest attribute value bound (bytes, before quoting); longer values get no CPE.
pub const MAX_VALUE: usize = 256;

/// Binds one attribute value into the formatted string (NISTIR 7695 §6.2.2.2,
/// `bind_value_for_fs` of a WFN string value): letters lower-cased, digits and
/// `-` `.` `_` as they are, every other printable ASCII character quoted with
/// `\`, whitespace replaced by `_` (§5.3.2: WFN values hold no whitespace).
/// `None` for what a CPE cannot carry: an empty value, a lone `-` (it would
/// read back as NA), control or non-ASCII characters, more than [`MAX_VALUE`].
pub fn bind_value(v: &str) -> Option<String> {
    if v.is_empty() || v == "-" || v.len() > MAX_VALUE {
        return None;
    }
    let mut out = String::with_capacity(v.len() + 4);
    for c in v.chars() {
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            'a'..='z' | '0'..='9' | '-' | '.' | '_' => out.push(c),
            ' ' | '\t' => out.push('_'),
            '!'..='~' => {
                out.push('\\');
                out.push(c);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A CPE 2.3 formatted string `cpe:2.3:part:vendor:product:version:update:*:*:*:*:*:*`.
/// `part` is `a`, `o`, `h` or `*`; a `vendor` of `*` is ANY (a `CVE_PRODUCT`
/// word without vendor), every other value is a literal bound by
/// [`bind_value`]; `update` `None` is ANY. `None` when a value cannot be bound.
pub fn format_with_update(
    part: &str,
    vendor: &str,
    product: &str,
    version: &str,
    update: Option<&str>,
) -> Option<String> {
    if !matches!(part, "a" | "o" | "h" | "*") {
        return None;
    }
    let vendor = if vendor == "*" {
        "*".to_string()
    } else {
        bind_value(vendor)?
    };
    let update = match update {
        Some(u) => bind_value(u)?,
        None => "*".to_string(),
    };
    Some(format!(
        "cpe:2.3:{part}:{vendor}:{}:{}:{update}:*:*:*:*:*:*",
        bind_value(product)?,
        bind_value(version)?
    ))
}

/// [`format_with_update`] with update ANY, except for the products NVD
/// names with an update field (OpenSSH `9.6p1` → version `9.6`, update `p1`).
pub fn format(part: &str, vendor: &str, product: &str, version: &str) -> Option<String> {
    let (v, u) = split_update(vendor, product, version);
    format_with_update(part, vendor, product, v, u)
}

/// NVD writes OpenSSH portable releases as version + update
/// (`cpe:2.3:a:openbsd:openssh:9.6:p1:…`); Alpine spells them `9.6_p1`.
fn split_update<'a>(vendor: &str, product: &str, version: &'a str) -> (&'a str, Option<&'a str>) {
    if product == "openssh" && (vendor == "openbsd" || vendor == "*") {
        if let Some(i) = version.rfind('p') {
            let (v, u) = (&version[..i], &version[i..]);
            let v = v.strip_suffix('_').unwrap_or(v);
            let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if u.len() > 1
                && numeric(&u[1..])
                && v.split('.').all(numeric)
                && v.starts_with(|c: char| c.is_ascii_digit())
            {
                return (v, Some(u));
            }
        }
    }
    (version, None)
}

/// One attribute of a parsed CPE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `*`
    Any,
    /// `-`
    Na,
    /// A literal, unquoted (`sdbus-c++`, not `sdbus-c\+\+`).
    Literal(String),
}

/// A parsed CPE 2.3 formatted string: part and the ten attributes in order
/// (vendor, product, version, update, edition, language, sw_edition,
/// target_sw, target_hw, other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpe {
    pub part: Value,
    pub attrs: [Value; 10],
}

impl Cpe {
    pub fn vendor(&self) -> &Value {
        &self.attrs[0]
    }
    pub fn product(&self) -> &Value {
        &self.attrs[1]
    }
    pub fn version(&self) -> &Value {
        &self.attrs[2]
    }
    pub fn update(&self) -> &Value {
        &self.attrs[3]
    }
}

/// Parses a formatted string (NISTIR 7695 §6.2.3, unbind): `cpe:2.3:` and
/// exactly eleven `:`-separated components; `\x` quotes `x`, a printable
/// character other than a letter, a digit, `-`, `.` and `_` (the quoting the
/// CPE 2.3 naming schema accepts); `*` and `-` alone are ANY and NA. Values
/// with unquoted wildcards (`1.*`, `?`) are match patterns, not names, and
/// are refused, as are characters a bound value cannot hold.
pub fn parse(s: &str) -> Result<Cpe, String> {
    let rest = s
        .strip_prefix("cpe:2.3:")
        .ok_or_else(|| "not a CPE 2.3 formatted string (cpe:2.3:…)".to_string())?;
    if s.len() > 11 * (2 * MAX_VALUE + 1) + 8 {
        return Err("too long".into());
    }
    let mut fields: Vec<Value> = Vec::with_capacity(11);
    let mut raw: &str = rest;
    loop {
        // One component: up to the next unquoted ':'.
        let mut end = raw.len();
        let mut quoted = false;
        for (i, b) in raw.bytes().enumerate() {
            match (quoted, b) {
                (true, _) => quoted = false,
                (false, b'\\') => quoted = true,
                (false, b':') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        if fields.len() == 11 {
            return Err("more than 11 components".into());
        }
        fields.push(
            unbind_value(&raw[..end])
                .map_err(|m| format!("component {}: {m}", fields.len() + 1))?,
        );
        if end == raw.len() {
            break;
        }
        raw = &raw[end + 1..];
    }
    if fields.len() != 11 {
        return Err(format!("{} components, 11 expected", fields.len()));
    }
    let part = fields.remove(0);
    match &part {
        Value::Any => {}
        Value::Literal(p) if matches!(p.as_str(), "a" | "o" | "h") => {}
        _ => return Err("part must be a, o, h or *".into()),
    }
    let attrs: [Value; 10] = fields
        .try_into()
        .map_err(|_| "10 attributes expected".to_string())?;
    if let Value::Literal(l) = &attrs[5] {
        if !is_language_tag(l) {
            return Err(format!(
                "language {l:?} is not an RFC 5646 language[-region] tag"
            ));
        }
    }
    Ok(Cpe { part, attrs })
}

/// The language attribute's form in a formatted string: `ll[l][-RR|-NNN]`.
fn is_language_tag(l: &str) -> bool {
    let (lang, region) = l.split_once('-').unwrap_or((l, ""));
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_alphabetic())
        && (region.is_empty()
            || (region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic()))
            || (region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit())))
        && !l.ends_with('-')
}

fn unbind_value(raw: &str) -> Result<Value, String> {
    match raw {
        "" => return Err("empty".into()),
        "*" => return Ok(Value::Any),
        "-" => return Ok(Value::Na),
        _ => {}
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '.' | '_' => out.push(c),
            '\\' => match chars.next() {
                Some(q @ '!'..='~')
                    if !q.is_ascii_alphanumeric() && !matches!(q, '-' | '.' | '_') =>
                {
                    out.push(q)
                }
                Some(q) => return Err(format!("{q:?} is not quoted in a CPE")),
                None => return Err("trailing backslash".into()),
            },
            '*' | '?' => return Err("unquoted wildcard: a pattern, not a name".into()),
            _ => return Err(format!("{c:?} must be quoted")),
        }
    }
    if out.len() > MAX_VALUE {
        return Err("value too long".into());
    }
    Ok(Value::Literal(out))
}

/// A vendor:product a table names; `vendor` `*` = unknown (ANY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub part: &'static str,
    pub vendor: String,
    pub product: String,
}

impl Product {
    /// A `CVE_PRODUCT` word: `vendor:product` or a bare `product`.
    /// OE-core writes part `*` for these; so do we.
    pub fn from_cve_product(word: &str) -> Option<Product> {
        let (vendor, product) = match word.split_once(':') {
            Some((v, p)) => (v, p),
            None => ("*", word),
        };
        if product.is_empty() || vendor.is_empty() {
            return None;
        }
        Some(Product {
            part: "*",
            vendor: vendor.to_string(),
            product: product.to_string(),
        })
    }

    /// The CPE of this product at `version`.
    pub fn cpe(&self, version: &str) -> Option<String> {
        format(self.part, &self.vendor, &self.product, version)
    }
}

/// The CPEs of `products` at `version`, in order, without duplicates.
pub fn cpes(products: &[Product], version: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in products {
        if let Some(c) = p.cpe(version) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

/// OE-core's version for CVE checks: `CVE_VERSION`/`PV` up to `+git`
/// (`oe.cve_check.get_cpe_ids`).
pub fn yocto_version(pv: &str) -> &str {
    pv.split("+git").next().unwrap_or(pv)
}

/// The upstream version in a distribution's package version: epoch and the
/// packaging revision removed (`1:2.36-9+deb12u7` → `2.36`, `3.1.4-r5` →
/// `3.1.4`, OpenWrt `2022.82-5` → `2022.82`, `6.6.73~8f2c…-r1` → `6.6.73`),
/// Debian repack suffixes dropped (`1.2.13.dfsg` → `1.2.13`).
pub fn upstream_version(source: PackageSource, version: &str) -> String {
    let v = match version.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => version,
    };
    let v = match source {
        PackageSource::Binary => v,
        _ => v.rsplit_once('-').map(|(u, _)| u).unwrap_or(v),
    };
    let v = match source {
        PackageSource::Dpkg | PackageSource::Opkg => v.split(['~', '+']).next().unwrap_or(v),
        _ => v,
    };
    let v = [".dfsg", ".ds", ".orig"]
        .iter()
        .find_map(|s| v.find(s).map(|i| &v[..i]))
        .unwrap_or(v);
    v.to_string()
}

/// Whether a version is a snapshot date (`2024.03.09`, `2023-06-05`) rather
/// than a release number (Dropbear's `2022.82` has two parts and is a release).
pub fn is_snapshot_date(v: &str) -> bool {
    let parts: Vec<&str> = v.split(['.', '-']).collect();
    let num = |s: &str, len: usize, lo: u32, hi: u32| {
        s.len() == len
            && s.bytes().all(|b| b.is_ascii_digit())
            && s.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n))
    };
    parts.len() == 3
        && num(parts[0], 4, 1990, 2200)
        && num(parts[1], 2, 1, 12)
        && num(parts[2], 2, 1, 31)
}

/// The name an rpm source package file gives its package
/// (`openssl-3.0.7-27.el9.src.rpm` → `openssl`).
pub fn srpm_name(srpm: &str) -> Option<&str> {
    let base = srpm.strip_suffix(".src.rpm")?;
    let mut it = base.rsplitn(3, '-');
    let (_rel, _ver, name) = (it.next()?, it.next()?, it.next()?);
    Some(name)
}

/// The CPEs of a package from the tables (the record's are applied before):
/// Yocto recipes through the OE-core table then the maintained one, other
/// packages through the maintained table by package name, then by source
/// package name. Empty when no table knows it.
pub fn for_package(p: &Package) -> Vec<String> {
    let m = MAINTAINED;
    match p.source {
        PackageSource::Opkg => {
            if let (Some(recipe), Some(pv)) = (&p.source_package, &p.source_version) {
                let version = yocto_version(pv);
                let products = YOCTO.get(recipe).or_else(|| m.get(recipe));
                return products.map(|ps| cpes(&ps, version)).unwrap_or_default();
            }
            let version = upstream_version(p.source, &p.version);
            if is_snapshot_date(&version) {
                // A git snapshot (OpenWrt's hostapd `2024.03.09~695277a5`):
                // no upstream release to compare with advisories.
                return Vec::new();
            }
            m.get(&p.name)
                .map(|ps| cpes(&ps, &version))
                .unwrap_or_default()
        }
        PackageSource::Binary => m
            .get(&p.name)
            .map(|ps| cpes(&ps, &p.version))
            .unwrap_or_default(),
        PackageSource::Dpkg | PackageSource::Apk | PackageSource::Rpm => {
            let version = match (p.source, &p.source_version) {
                (PackageSource::Dpkg, Some(sv)) => upstream_version(p.source, sv),
                _ => upstream_version(p.source, &p.version),
            };
            let source_name = match p.source {
                PackageSource::Rpm => p.source_package.as_deref().and_then(srpm_name),
                _ => p.source_package.as_deref(),
            };
            m.get(&p.name)
                .or_else(|| source_name.and_then(|s| m.get(s)))
                .map(|ps| cpes(&ps, &version))
                .unwrap_or_default()
        }
    }
}

/// OE-core's default identity of a product no table knows (`CVE_PRODUCT`
/// = the recipe's name, no vendor): `cpe:2.3:<part>:*:<product>:<version>:…`.
/// For SBOMs, which want an identifier on every component; never matched.
pub fn derived(product: &str, version: &str, part: &str) -> Option<String> {
    format(part, "*", product, version)
}

/// The SBOM identity of a package [`for_package`] did not identify:
/// [`derived`] from its source package (the upstream project's name in
/// every distribution: Debian `Source`, apk origin, rpm source rpm, Yocto
/// recipe), else its own name, at the upstream version.
pub fn for_sbom(p: &Package) -> Option<String> {
    let source = match p.source {
        PackageSource::Rpm => p.source_package.as_deref().and_then(srpm_name),
        PackageSource::Binary => None,
        _ => p.source_package.as_deref(),
    };
    let version = match (p.source, &p.source_version) {
        (PackageSource::Opkg, Some(pv)) => yocto_version(pv).to_string(),
        (PackageSource::Dpkg, Some(sv)) => upstream_version(p.source, sv),
        _ => upstream_version(p.source, &p.version),
    };
    let part = if p.source == PackageSource::Binary {
        "a"
    } else {
        "*"
    };
    derived(source.unwrap_or(&p.name), &version, part)
}

/// The CPE of an opkg `libc` package (OpenWrt names its C library so,
/// whichever it is) from the package's file list (`info/libc.list`): the
/// dynamic loader or library names the implementation. Empty when the list
/// names none (no guessing).
pub fn for_libc(p: &Package, file_list: &str) -> Vec<String> {
    let mut name = None;
    for line in file_list.lines().take(4096) {
        let file = line.rsplit('/').next().unwrap_or(line).trim();
        let which = if file.starts_with("ld-musl-") || file.starts_with("libc.musl-") {
            "musl"
        } else if file.starts_with("ld-uClibc") || file.starts_with("libuClibc") {
            "uclibc-ng"
        } else if file == "libc.so.6" || file.starts_with("ld-linux") {
            "glibc"
        } else {
            continue;
        };
        if name.is_some_and(|n| n != which) {
            return Vec::new();
        }
        name = Some(which);
    }
    let version = upstream_version(p.source, &p.version);
    name.and_then(|n| MAINTAINED.get(n))
        .map(|ps| cpes(&ps, &version))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
