//! SBOM conversions (ISSUE19): the CycloneDX 1.6 JSON SBOM the agent writes
//! (and the attestation's `sbom-digests` covers) read back into a typed
//! subset, and rendered as SPDX 2.3 JSON ([`spdx2`]) or SPDX 3.0.1 JSON-LD
//! ([`spdx3`]) with the same content: packages, versions, purl and CPE,
//! suppliers, declared licenses, hashes, the dependency graph (unresolved
//! dependencies as NOASSERTION, a resolved package without dependencies as
//! NONE), creation info.
//!
//! One source, two renderings: the agent renders SPDX from the CycloneDX it
//! has just rendered, the collector from the CycloneDX a device uploaded. The
//! input is hostile in the collector: every field is optional or checked,
//! the component count is bounded ([`MAX_COMPONENTS`]), strings are copied
//! only through the escaping of `serde_json`, identifiers are generated here,
//! never taken from the input.

use serde::Deserialize;
use serde_json::Value;

pub mod spdx2;
pub mod spdx3;

/// Most components (metadata component included) a converted SBOM may hold.
pub const MAX_COMPONENTS: usize = 500_000;

/// Most nested (file) components, all packages together.
pub const MAX_FILES: usize = 4_000_000;

/// The files a component lists (its nested components of type `file`).
impl Component {
    pub fn files(&self) -> impl Iterator<Item = &Component> {
        self.components.iter().filter(|c| c.kind == "file")
    }
}

/// Output formats of the conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpdxVersion {
    /// SPDX 2.3 JSON (`--format spdx-json`).
    V2_3,
    /// SPDX 3.0.1 JSON-LD (`--format spdx3`).
    V3_0,
}

/// The CycloneDX subset the conversions read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    #[serde(default)]
    pub bom_format: Option<String>,
    #[serde(default)]
    pub spec_version: Option<String>,
    #[serde(default)]
    pub serial_number: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub components: Vec<Component>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub tools: Option<Value>,
    #[serde(default)]
    pub authors: Vec<Contact>,
    #[serde(default)]
    pub component: Option<Component>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Component {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(rename = "bom-ref", default)]
    pub bom_ref: Option<String>,
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub purl: Option<String>,
    #[serde(default)]
    pub cpe: Option<String>,
    #[serde(default)]
    pub supplier: Option<Entity>,
    #[serde(default)]
    pub manufacturer: Option<Entity>,
    #[serde(default)]
    pub publisher: Option<String>,
    #[serde(default)]
    pub licenses: Vec<LicenseChoice>,
    #[serde(default)]
    pub hashes: Vec<Hash>,
    #[serde(default)]
    pub evidence: Option<Value>,
    #[serde(default)]
    pub properties: Vec<Property>,
    /// Nested components: the agent writes a package's files here (type
    /// `file`, one hash each) with the `sbom-files` feature.
    #[serde(default)]
    pub components: Vec<Component>,
}

/// A CycloneDX organizational entity.
#[derive(Debug, Default, Deserialize)]
pub struct Entity {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub url: Vec<String>,
    #[serde(default)]
    pub contact: Vec<Contact>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LicenseChoice {
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub license: Option<License>,
}

#[derive(Debug, Default, Deserialize)]
pub struct License {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Hash {
    pub alg: String,
    pub content: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Property {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Dependency {
    #[serde(rename = "ref")]
    pub rf: String,
    #[serde(rename = "dependsOn", default)]
    pub depends_on: Vec<String>,
}

/// Reads a CycloneDX JSON SBOM. Errors name what is wrong (JSON position,
/// format, size); nothing panics on any input.
pub fn parse_cyclonedx(text: &str) -> Result<Bom, String> {
    let bom: Bom = serde_json::from_str(text).map_err(|e| format!("CycloneDX JSON: {e}"))?;
    if bom.bom_format.as_deref() != Some("CycloneDX") {
        return Err("not a CycloneDX BOM (bomFormat)".into());
    }
    let nested: usize = bom.components.iter().map(|c| c.components.len()).sum();
    if bom.components.len() >= MAX_COMPONENTS || nested >= MAX_FILES {
        return Err(format!(
            "more than {MAX_COMPONENTS} components or {MAX_FILES} nested ones"
        ));
    }
    Ok(bom)
}

/// Converts a CycloneDX JSON SBOM into SPDX.
pub fn convert(text: &str, to: SpdxVersion) -> Result<String, String> {
    let bom = parse_cyclonedx(text)?;
    Ok(match to {
        SpdxVersion::V2_3 => spdx2::render(&bom)?,
        SpdxVersion::V3_0 => spdx3::render(&bom)?,
    })
}

impl Component {
    /// Values of the properties named `name`, in order.
    pub fn props<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.properties
            .iter()
            .filter(move |p| p.name == name)
            .filter_map(|p| p.value.as_deref())
    }

    /// Every CPE: `cpe` first, then the identity evidence's `cpe` values
    /// (CycloneDX 1.6 array or 1.5 object), without duplicates.
    pub fn cpes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.cpe.as_deref().into_iter().collect();
        let mut seen: std::collections::HashSet<&str> = out.iter().copied().collect();
        let identity = self.evidence.as_ref().and_then(|e| e.get("identity"));
        let items: Vec<&Value> = match identity {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => Vec::new(),
        };
        for i in items {
            if i.get("field").and_then(Value::as_str) == Some("cpe") {
                if let Some(c) = i.get("concludedValue").and_then(Value::as_str) {
                    if seen.insert(c) {
                        out.push(c);
                    }
                }
            }
        }
        out
    }

    /// Name and e-mail of the component's supplier (or manufacturer) or,
    /// with `publisher`, of its publisher (a maintainer field as written:
    /// `Name <mail>`); None without a name.
    pub fn party(&self, publisher: bool) -> Option<(String, Option<String>)> {
        let (name, mail) = if publisher {
            let p = self.publisher.as_deref()?;
            match p.rsplit_once('<') {
                Some((n, rest)) if rest.trim_end().ends_with('>') => {
                    (n, Some(rest.trim_end().trim_end_matches('>')))
                }
                _ => (p, None),
            }
        } else {
            let s = self.supplier.as_ref().or(self.manufacturer.as_ref())?;
            (
                s.name.as_deref()?,
                s.contact.iter().find_map(|x| x.email.as_deref()),
            )
        };
        let name = name.trim();
        (!name.is_empty()).then(|| {
            (
                name.to_string(),
                mail.map(|m| m.trim().to_string()).filter(|m| !m.is_empty()),
            )
        })
    }

    /// "built from source package NAME [VERSION]", from the agent's
    /// properties.
    pub fn source_info(&self) -> Option<String> {
        let src = self.props("fieldattest:package:source_package").next()?;
        let ver = self
            .props("fieldattest:package:source_version")
            .next()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        Some(format!("built from source package {src}{ver}"))
    }

    /// The hashes both SPDX versions can carry: known algorithms, hex
    /// values (lower-cased).
    pub fn spdx_hashes(&self) -> Vec<SpdxHash> {
        self.hashes
            .iter()
            .filter(|h| is_hex(&h.content))
            .filter_map(|h| {
                let &(_, v2, v3) = HASH_ALGS.iter().find(|(a, _, _)| *a == h.alg)?;
                Some(SpdxHash {
                    v2,
                    v3,
                    hex: h.content.to_ascii_lowercase(),
                })
            })
            .collect()
    }

    /// The declared license: an SPDX expression (CycloneDX `expression` or
    /// a license `id`), else the names as written (not an expression).
    pub fn declared_license(&self) -> DeclaredLicense<'_> {
        let mut names = Vec::new();
        for l in &self.licenses {
            if let Some(e) = l.expression.as_deref().filter(|e| !e.trim().is_empty()) {
                return DeclaredLicense::Expression(e.trim());
            }
            if let Some(lic) = &l.license {
                if let Some(id) = lic.id.as_deref().filter(|i| !i.trim().is_empty()) {
                    return DeclaredLicense::Expression(id.trim());
                }
                if let Some(n) = lic.name.as_deref().filter(|n| !n.trim().is_empty()) {
                    names.push(n.trim());
                }
            }
        }
        if names.is_empty() {
            DeclaredLicense::None
        } else {
            DeclaredLicense::Names(names)
        }
    }
}

/// What a component says about its license.
#[derive(Debug, PartialEq, Eq)]
pub enum DeclaredLicense<'a> {
    Expression(&'a str),
    Names(Vec<&'a str>),
    None,
}

/// Whether `e` is a license expression both SPDX versions accept: ids,
/// `LicenseRef-`/`DocumentRef-` references, `AND`/`OR`/`WITH`, `+` and
/// balanced parentheses. What the agent writes always is; a hostile SBOM's
/// expression that is not becomes NOASSERTION with the text as a comment.
pub fn is_license_expression(e: &str) -> bool {
    if e.len() > 4096 {
        return false;
    }
    let spaced = e.replace('(', " ( ").replace(')', " ) ");
    let mut depth = 0usize;
    let mut want_operand = true;
    let mut any = false;
    for t in spaced.split_whitespace() {
        any = true;
        match t {
            "(" if want_operand => depth += 1,
            ")" if !want_operand && depth > 0 => depth -= 1,
            "AND" | "OR" | "WITH" if !want_operand => want_operand = true,
            id if want_operand
                && !id.is_empty()
                && id
                    .trim_end_matches('+')
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':'))
                && !id.trim_end_matches('+').is_empty() =>
            {
                want_operand = false
            }
            _ => return false,
        }
    }
    any && depth == 0 && !want_operand
}

/// `LicenseRef-…` references of an expression (SPDX 2.3 wants each one
/// declared in `hasExtractedLicensingInfos`).
pub fn license_refs(e: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for t in e.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
        if t.starts_with("LicenseRef-") && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The creation time as SPDX wants it (`YYYY-MM-DDThh:mm:ssZ`) from an
/// RFC 3339 UTC timestamp (fractional seconds dropped).
pub fn spdx_time(ts: Option<&str>) -> Result<String, String> {
    let ts = ts.ok_or("metadata.timestamp missing")?;
    let b = ts.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    let utc = ts.ends_with('Z') || ts.ends_with("+00:00");
    if !shape || !utc {
        return Err(format!(
            "metadata.timestamp {:?}: not an RFC 3339 UTC time",
            ts.chars().take(40).collect::<String>()
        ));
    }
    Ok(format!("{}Z", &ts[..19]))
}

/// The document's UUID: the CycloneDX serial number's, else none.
pub fn serial_uuid(b: &Bom) -> Option<&str> {
    let s = b.serial_number.as_deref()?.strip_prefix("urn:uuid:")?;
    (s.len() == 36 && s.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-')).then_some(s)
}

/// The tool that wrote the SBOM (`name`, `version`), CycloneDX 1.5+ object
/// or legacy array form.
pub fn tool(b: &Bom) -> Option<(&str, &str)> {
    let t = b.metadata.tools.as_ref()?;
    let first = match t {
        Value::Object(o) => o.get("components")?.as_array()?.first()?,
        Value::Array(a) => a.first()?,
        _ => return None,
    };
    Some((
        first.get("name")?.as_str()?,
        first.get("version").and_then(Value::as_str).unwrap_or(""),
    ))
}

/// `[A-Za-z0-9.-]` only, at most `max` characters: the part of an
/// identifier taken from a component's name.
pub fn id_safe(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(max)
        .collect()
}

/// The packages (components and the metadata component) in output order,
/// with generated identifiers, and the bom-ref → index map for the graph.
pub struct Indexed<'a> {
    pub items: Vec<&'a Component>,
    /// Index of the metadata component (the operating system), if any.
    pub root: Option<usize>,
    pub by_ref: std::collections::HashMap<&'a str, usize>,
}

pub fn index(b: &Bom) -> Indexed<'_> {
    let mut items: Vec<&Component> = Vec::with_capacity(b.components.len() + 1);
    let root = b.metadata.component.as_ref().map(|c| {
        items.push(c);
        0
    });
    items.extend(b.components.iter());
    let mut by_ref = std::collections::HashMap::with_capacity(items.len());
    for (i, c) in items.iter().enumerate() {
        if let Some(r) = c.bom_ref.as_deref() {
            by_ref.entry(r).or_insert(i);
        }
    }
    Indexed {
        items,
        root,
        by_ref,
    }
}

/// One component's place in the dependency graph: the components it
/// depends on (indices into [`Indexed::items`], each once, in the order
/// first named) and the unresolved clauses the agent recorded.
pub struct Edges<'a> {
    pub from: usize,
    pub to: Vec<usize>,
    pub unresolved: Vec<&'a str>,
}

/// The graph of `b`: one entry per component the `dependencies` list names
/// (its first entry; references to unknown components dropped). Linear in
/// the input: duplicates are found through a set, never by scanning.
pub fn edges<'a>(b: &'a Bom, ix: &Indexed<'a>) -> Vec<Edges<'a>> {
    let mut listed = vec![false; ix.items.len()];
    let mut out = Vec::new();
    for d in &b.dependencies {
        let Some(&from) = ix.by_ref.get(d.rf.as_str()) else {
            continue;
        };
        if std::mem::replace(&mut listed[from], true) {
            continue;
        }
        let mut seen = std::collections::HashSet::new();
        let to = d
            .depends_on
            .iter()
            .filter_map(|t| ix.by_ref.get(t.as_str()).copied())
            .filter(|t| seen.insert(*t))
            .collect();
        out.push(Edges {
            from,
            to,
            unresolved: ix.items[from].props(UNRESOLVED_PROP).collect(),
        });
    }
    out
}

/// Unresolved dependency clauses the agent recorded on a component.
pub const UNRESOLVED_PROP: &str = "fieldattest:package:unresolved_dependency";

/// CycloneDX component types and their SPDX purposes: (CycloneDX, SPDX 2.3
/// `primaryPackagePurpose`, SPDX 3 `software_primaryPurpose`).
const PURPOSES: [(&str, &str, &str); 8] = [
    ("operating-system", "OPERATING-SYSTEM", "operatingSystem"),
    ("application", "APPLICATION", "application"),
    ("framework", "FRAMEWORK", "framework"),
    ("library", "LIBRARY", "library"),
    ("container", "CONTAINER", "container"),
    ("firmware", "FIRMWARE", "firmware"),
    ("device", "DEVICE", "device"),
    ("file", "FILE", "file"),
];

/// SPDX purpose of a CycloneDX component type: (SPDX 2.3, SPDX 3); any
/// other type is OTHER.
pub fn purpose(kind: &str) -> (&'static str, &'static str) {
    PURPOSES
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map_or(("OTHER", "other"), |&(_, v2, v3)| (v2, v3))
}

/// CycloneDX hash algorithms and their SPDX names: (CycloneDX, SPDX 2.3
/// checksum algorithm, SPDX 3 hash algorithm).
const HASH_ALGS: [(&str, &str, &str); 12] = [
    ("MD5", "MD5", "md5"),
    ("SHA-1", "SHA1", "sha1"),
    ("SHA-256", "SHA256", "sha256"),
    ("SHA-384", "SHA384", "sha384"),
    ("SHA-512", "SHA512", "sha512"),
    ("SHA3-256", "SHA3-256", "sha3_256"),
    ("SHA3-384", "SHA3-384", "sha3_384"),
    ("SHA3-512", "SHA3-512", "sha3_512"),
    ("BLAKE2b-256", "BLAKE2b-256", "blake2b256"),
    ("BLAKE2b-384", "BLAKE2b-384", "blake2b384"),
    ("BLAKE2b-512", "BLAKE2b-512", "blake2b512"),
    ("BLAKE3", "BLAKE3", "blake3"),
];

/// A component's hash in both SPDX spellings.
pub struct SpdxHash {
    /// SPDX 2.3 checksum algorithm.
    pub v2: &'static str,
    /// SPDX 3 hash algorithm.
    pub v3: &'static str,
    /// Lower-case hex.
    pub hex: String,
}

/// Whether a hash value is hex (what both formats require).
fn is_hex(v: &str) -> bool {
    !v.is_empty() && v.len() <= 256 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The document's name (the operating system's, else `sbom`) and the
/// namespace both SPDX renderings use: the CycloneDX serial number's UUID
/// under `https://spdx.org/spdxdocs/fieldattest/`.
pub fn document<'a>(b: &Bom, ix: &Indexed<'a>) -> (&'a str, String) {
    let uuid = serial_uuid(b).unwrap_or("00000000-0000-4000-8000-000000000000");
    let name = ix.root.map(|i| ix.items[i].name.as_str()).unwrap_or("sbom");
    let ns = format!(
        "https://spdx.org/spdxdocs/fieldattest/{}-{uuid}",
        id_safe(name, 64)
    );
    (name, ns)
}

#[cfg(test)]
mod tests;
