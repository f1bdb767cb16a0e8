//! The CPE tables, read in place from their compiled-in text: the maintained
//! table `scan/data/cpe-products.tsv` and the Yocto recipe table
//! `scan/data/yocto-cve-product.tsv` (generated from OE-core by
//! `scripts/gen-yocto-cve-product.py`).

use super::Product;

/// Lines read from a compiled-in table at most.
pub const MAX_TABLE_LINES: usize = 8192;

const MAINTAINED_TSV: &str = include_str!("../../../data/cpe-products.tsv");
pub(super) const YOCTO_TSV: &str = include_str!("../../../data/yocto-cve-product.tsv");

/// Which table a text is, and so how its product words read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `NAME<TAB>part:vendor:product ...`; NAME exact or `prefix*`.
    Maintained,
    /// `recipe<TAB>CVE_PRODUCT words`, or the recipe alone (product = recipe
    /// name); sorted by recipe, exact names only.
    Yocto,
}

/// A name → products table read in place from its compiled-in text (no
/// index is built: the maintained table is short and scanned, the Yocto
/// table is sorted and binary-searched).
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub text: &'static str,
    pub kind: Kind,
}

impl Table {
    fn word(&self, w: &str) -> Option<Product> {
        match self.kind {
            Kind::Yocto => Product::from_cve_product(w),
            Kind::Maintained => {
                let mut it = w.splitn(3, ':');
                let (part, vendor, product) = (it.next()?, it.next()?, it.next()?);
                let part = match part {
                    "a" => "a",
                    "o" => "o",
                    "h" => "h",
                    _ => return None,
                };
                if vendor.is_empty() || product.is_empty() || product.contains(':') {
                    return None;
                }
                Some(Product {
                    part,
                    vendor: vendor.into(),
                    product: product.into(),
                })
            }
        }
    }

    fn products(&self, line: &str) -> Vec<Product> {
        let rest = line.split_once('\t').map_or(line, |(_, r)| r);
        rest.split_whitespace()
            .filter_map(|w| self.word(w))
            .collect()
    }

    /// Products of `name`: the exact entry, else (maintained table) the
    /// longest matching `prefix*` entry. `None` when the table does not know it.
    pub fn get(&self, name: &str) -> Option<Vec<Product>> {
        if name.is_empty() {
            return None;
        }
        let line = match self.kind {
            Kind::Yocto => sorted_line(self.text, name),
            Kind::Maintained => {
                let mut best: Option<(usize, &str)> = None;
                for line in self.text.lines().take(MAX_TABLE_LINES) {
                    let key = line.split('\t').next().unwrap_or(line);
                    if line.starts_with('#') {
                        continue;
                    }
                    if key == name {
                        best = Some((usize::MAX, line));
                        break;
                    }
                    if let Some(pre) = key.strip_suffix('*') {
                        let longer = best.is_none_or(|(l, _)| pre.len() > l);
                        if !pre.is_empty()
                            && name.len() > pre.len()
                            && name.starts_with(pre)
                            && longer
                        {
                            best = Some((pre.len(), line));
                        }
                    }
                }
                best.map(|(_, l)| l)
            }
        }?;
        Some(self.products(line)).filter(|p| !p.is_empty())
    }

    /// `(line, message)` for every line that is not a valid entry, and the
    /// number of entries. The shipped tables have no bad line (tested).
    pub fn check(&self) -> (Vec<(usize, String)>, usize) {
        let mut errors = Vec::new();
        let mut entries = 0;
        let mut prev: Option<&str> = None;
        for (i, line) in self.text.lines().enumerate() {
            let n = i + 1;
            if line.starts_with('#') {
                continue;
            }
            if i >= MAX_TABLE_LINES {
                errors.push((n, "beyond the line limit".into()));
                break;
            }
            let (name, rest) = line.split_once('\t').unwrap_or((line, line));
            if name.is_empty() || !line.is_ascii() || rest.split_whitespace().next().is_none() {
                errors.push((n, "no name, no product or not ASCII".into()));
                continue;
            }
            for w in rest.split_whitespace() {
                if self.word(w).and_then(|p| p.cpe("1")).is_none() {
                    errors.push((n, format!("bad product {w:?}")));
                }
            }
            match (self.kind, name.strip_suffix('*')) {
                (Kind::Yocto, Some(_)) => errors.push((n, "no prefixes here".into())),
                (Kind::Maintained, Some("")) => errors.push((n, "empty prefix".into())),
                _ => {}
            }
            if self.kind == Kind::Yocto && prev.is_some_and(|p| p >= name) {
                errors.push((n, format!("{name} out of order or listed twice")));
            }
            prev = Some(name);
            entries += 1;
        }
        if self.kind == Kind::Maintained {
            let mut names: Vec<&str> = self
                .text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| l.split('\t').next().unwrap_or(l))
                .collect();
            let all = names.len();
            names.sort_unstable();
            names.dedup();
            if names.len() != all {
                errors.push((0, "a name is listed twice".into()));
            }
        }
        (errors, entries)
    }
}

/// The line of a sorted table whose first field is `name`, by binary search
/// over the text itself (comment lines only at the top).
fn sorted_line(text: &'static str, name: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    // Skip the header comments.
    let mut body_start = 0;
    while b.get(body_start) == Some(&b'#') {
        body_start = match b[body_start..].iter().position(|&c| c == b'\n') {
            Some(i) => body_start + i + 1,
            None => return None,
        };
    }
    let (mut lo, mut hi) = (body_start, b.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // The line containing `mid`: its bounds are next to '\n' bytes (or
        // the ends), always character boundaries.
        let start = b[lo..mid]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(lo, |i| lo + i + 1);
        let end = b[mid..hi]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(hi, |i| mid + i);
        let line = text.get(start..end)?;
        let key = line.split('\t').next().unwrap_or(line);
        match key.cmp(name) {
            std::cmp::Ordering::Equal => return Some(line),
            std::cmp::Ordering::Less => lo = end + 1,
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    None
}

/// The maintained table (`scan/data/cpe-products.tsv`).
pub const MAINTAINED: Table = Table {
    text: MAINTAINED_TSV,
    kind: Kind::Maintained,
};

/// The Yocto recipe table (OE-core's `CVE_PRODUCT`, `scan/data/yocto-cve-product.tsv`).
pub const YOCTO: Table = Table {
    text: YOCTO_TSV,
    kind: Kind::Yocto,
};
