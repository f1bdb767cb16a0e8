//! rpm database of Yocto `package_rpm` (and Fedora-family) images.
//!
//! rpm ≥ 4.16 keeps its database in SQLite (`Packages.db` on Yocto,
//! `rpmdb.sqlite` on Fedora): table `Packages(hnum, blob)`, one rpm header per
//! row. The header parser here is pure and always built; opening the SQLite file
//! needs the `rpm-sqlite` feature. Berkeley DB (`Packages`) and NDB
//! (`Packages.db` in NDB format) databases are reported as unreadable.

use fieldattest_protocol::report::{Package, PackageSource};

/// Database locations, newest layout first.
pub const DB_PATHS: [&str; 4] = [
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/Packages.db",
    "/var/lib/rpm/rpmdb.sqlite",
    "/var/lib/rpm/Packages.db",
];
/// Legacy Berkeley DB files we detect but cannot read.
pub const BDB_PATHS: [&str; 2] = ["/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages"];

const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_LICENSE: i32 = 1014;
const TAG_ARCH: i32 = 1022;
const TAG_SOURCERPM: i32 = 1044;
const TAG_VENDOR: i32 = 1011;
const TAG_PACKAGER: i32 = 1015;
const TAG_PROVIDENAME: i32 = 1047;
const TAG_REQUIREFLAGS: i32 = 1048;
const TAG_REQUIRENAME: i32 = 1049;
const TAG_REQUIREVERSION: i32 = 1050;
const TAG_DIRINDEXES: i32 = 1116;
const TAG_BASENAMES: i32 = 1117;
const TAG_DIRNAMES: i32 = 1118;
const TYPE_STRING_ARRAY: u32 = 8;
/// `RPMSENSE_RPMLIB`: a requirement on rpm itself (`rpmlib(…)`), not on a
/// package; `RPMSENSE_LESS|GREATER|EQUAL` give a versioned requirement's
/// operator.
const RPMSENSE_RPMLIB: u32 = 1 << 24;
const RPMSENSE_LESS: u32 = 2;
const RPMSENSE_GREATER: u32 = 4;
const RPMSENSE_EQUAL: u32 = 8;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;
/// Sanity caps from rpm's own header limits.
const MAX_INDEX: usize = 0x0000_ffff;
const MAX_DATA: usize = 0x0fff_ffff;

/// The fields of one header we need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub arch: Option<String>,
    pub license: Option<String>,
    pub sourcerpm: Option<String>,
    pub vendor: Option<String>,
    pub packager: Option<String>,
    /// `REQUIRENAME` with the version constraint (`name >= 1.2`), rpm's own
    /// requirements (`rpmlib(…)`) left out.
    pub requires: Vec<String>,
    /// `PROVIDENAME`.
    pub provides: Vec<String>,
}

/// One index entry: tag, type, offset into the data, count.
type Entry = (i32, u32, usize, usize);

/// The index entries and the data store of a header blob, checked.
fn entries(blob: &[u8]) -> Result<(Vec<Entry>, &[u8]), String> {
    let be32 = |at: usize| -> Option<u32> {
        blob.get(at..at + 4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    let il = be32(0).ok_or("header shorter than 8 bytes")? as usize;
    let dl = be32(4).ok_or("header shorter than 8 bytes")? as usize;
    if il == 0 || il > MAX_INDEX || dl > MAX_DATA {
        return Err(format!("implausible header sizes (index {il}, data {dl})"));
    }
    let data_start = 8 + il * 16;
    let data = blob.get(data_start..data_start + dl).ok_or_else(|| {
        format!(
            "header truncated: {} bytes, need {}",
            blob.len(),
            data_start + dl
        )
    })?;
    let mut out = Vec::with_capacity(il);
    for i in 0..il {
        let at = 8 + i * 16;
        let (Some(tag), Some(ty), Some(off), Some(count)) =
            (be32(at), be32(at + 4), be32(at + 8), be32(at + 12))
        else {
            return Err("index entry out of bounds".into());
        };
        out.push((tag as i32, ty, off as usize, count as usize));
    }
    Ok((out, data))
}

/// `count` NUL-terminated strings at `off` (a count larger than the data
/// can hold is refused before anything is read).
fn strings(data: &[u8], (tag, ty, off, count): Entry) -> Result<Vec<String>, String> {
    if ty != TYPE_STRING_ARRAY && ty != TYPE_STRING && ty != TYPE_I18NSTRING {
        return Err(format!("tag {tag}: type {ty} is not a string array"));
    }
    let mut tail = data
        .get(off..)
        .ok_or_else(|| format!("tag {tag}: offset out of bounds"))?;
    if count > tail.len() {
        return Err(format!(
            "tag {tag}: {count} strings in {} bytes",
            tail.len()
        ));
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let end = tail
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("tag {tag}: unterminated string"))?;
        out.push(String::from_utf8_lossy(&tail[..end]).into_owned());
        tail = &tail[end + 1..];
    }
    Ok(out)
}

/// `count` big-endian INT32 values at `off`.
fn int32s(data: &[u8], (tag, ty, off, count): Entry) -> Result<Vec<u32>, String> {
    if ty != TYPE_INT32 {
        return Err(format!("tag {tag}: type {ty} is not INT32"));
    }
    let bytes = count
        .checked_mul(4)
        .and_then(|n| data.get(off..off.checked_add(n)?))
        .ok_or_else(|| format!("tag {tag}: INT32 array out of bounds"))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

#[cfg(feature = "sbom-files")]
const TAG_FILEDIGESTS: i32 = 1035;
#[cfg(feature = "sbom-files")]
const TAG_FILEDIGESTALGO: i32 = 5011;

/// A header's file list: `BASENAMES`, `DIRNAMES` and `DIRINDEXES`.
struct FileList {
    base: Vec<String>,
    dirs: Vec<String>,
    idx: Vec<u32>,
}

impl FileList {
    /// The file list of a header; `None` when it has none.
    fn read(index: &[Entry], data: &[u8]) -> Result<Option<FileList>, String> {
        let find = |t: i32| index.iter().copied().find(|e| e.0 == t);
        let (Some(b), Some(d), Some(i)) = (
            find(TAG_BASENAMES),
            find(TAG_DIRNAMES),
            find(TAG_DIRINDEXES),
        ) else {
            return Ok(None);
        };
        Ok(Some(FileList {
            base: strings(data, b)?,
            dirs: strings(data, d)?,
            idx: int32s(data, i)?,
        }))
    }

    /// Calls `f(position, directory, base name)` for the first `limit`
    /// files (`DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`); a directory index
    /// out of bounds is an error.
    fn each(&self, limit: usize, mut f: impl FnMut(usize, &str, &str)) -> Result<(), String> {
        for (k, (n, &di)) in self.base.iter().zip(&self.idx).take(limit).enumerate() {
            let dir = self
                .dirs
                .get(di as usize)
                .ok_or_else(|| format!("DIRINDEXES {di} out of bounds"))?;
            f(k, dir, n);
        }
        Ok(())
    }
}

/// The files of a header with their `FILEDIGESTS`, in the header's
/// `FILEDIGESTALGO` (rpm's PGP hash ids: 1 MD5 — the default when the tag
/// is absent —, 2 SHA-1, 8 SHA-256, 9 SHA-384, 10 SHA-512); files without a
/// digest (directories, links) are left out; an unknown algorithm: none.
#[cfg(feature = "sbom-files")]
pub fn file_hashes(blob: &[u8]) -> Result<Vec<fieldattest_protocol::report::FileHash>, String> {
    let (index, data) = entries(blob)?;
    let find = |t: i32| index.iter().copied().find(|e| e.0 == t);
    let (Some(list), Some(g)) = (FileList::read(&index, data)?, find(TAG_FILEDIGESTS)) else {
        return Ok(Vec::new());
    };
    let algo = match find(TAG_FILEDIGESTALGO) {
        Some(a) => int32s(data, a)?.first().copied().unwrap_or(1),
        None => 1,
    };
    let (alg, len) = match algo {
        1 => ("MD5", 32),
        2 => ("SHA-1", 40),
        8 => ("SHA-256", 64),
        9 => ("SHA-384", 96),
        10 => ("SHA-512", 128),
        _ => return Ok(Vec::new()),
    };
    let digests = strings(data, g)?;
    let mut out = Vec::new();
    list.each(digests.len(), |k, dir, n| {
        let h = &digests[k];
        if h.len() == len && h.bytes().all(|c| c.is_ascii_hexdigit()) {
            out.push(fieldattest_protocol::report::FileHash {
                path: format!("{dir}{n}"),
                alg,
                hex: h.to_ascii_lowercase(),
            });
        }
    })?;
    Ok(out)
}

/// The files of a header that are in `wanted`: what file requirements
/// (`/bin/sh`) resolve to.
pub fn files_in(
    blob: &[u8],
    wanted: &std::collections::HashSet<String>,
) -> Result<Vec<String>, String> {
    let (index, data) = entries(blob)?;
    let Some(list) = FileList::read(&index, data)? else {
        return Ok(Vec::new());
    };
    let longest = wanted.iter().map(String::len).max().unwrap_or(0);
    let mut out: Vec<String> = Vec::new();
    list.each(usize::MAX, |_, dir, n| {
        if dir.len() + n.len() > longest {
            return;
        }
        let path = format!("{dir}{n}");
        if wanted.contains(&path) && !out.contains(&path) {
            out.push(path);
        }
    })?;
    Ok(out)
}

/// Parses an rpm header blob as stored in the database (index count and data
/// length, big-endian, then the index entries and the data store).
pub fn parse_header(blob: &[u8]) -> Result<Header, String> {
    let (index, data) = entries(blob)?;
    let mut h = Header::default();
    let (mut req_names, mut req_flags, mut req_versions) = (Vec::new(), Vec::new(), Vec::new());
    for e in index {
        let (tag, ty, off, count) = e;
        let string = || -> Result<String, String> {
            if ty != TYPE_STRING && ty != TYPE_I18NSTRING {
                return Err(format!("tag {tag}: type {ty} is not a string"));
            }
            Ok(strings(data, (tag, ty, off, 1))?.pop().unwrap_or_default())
        };
        match tag {
            TAG_NAME => h.name = string()?,
            TAG_VERSION => h.version = string()?,
            TAG_RELEASE => h.release = string()?,
            TAG_ARCH => h.arch = Some(string()?),
            TAG_LICENSE => h.license = Some(string()?),
            TAG_SOURCERPM => h.sourcerpm = Some(string()?),
            TAG_VENDOR => h.vendor = Some(string()?),
            TAG_PACKAGER => h.packager = Some(string()?),
            TAG_PROVIDENAME => h.provides = strings(data, e)?,
            TAG_REQUIRENAME => req_names = strings(data, e)?,
            TAG_REQUIREVERSION => req_versions = strings(data, e)?,
            TAG_REQUIREFLAGS => req_flags = int32s(data, e)?,
            TAG_EPOCH => {
                if ty != TYPE_INT32 || count < 1 {
                    return Err("EPOCH is not an INT32".into());
                }
                h.epoch = int32s(data, (tag, ty, off, 1))?.first().copied();
            }
            _ => {}
        }
    }
    if h.name.is_empty() || h.version.is_empty() {
        return Err("header without NAME or VERSION".into());
    }
    let mut seen = std::collections::HashSet::new();
    for (i, n) in req_names.into_iter().enumerate() {
        let flags = req_flags.get(i).copied().unwrap_or(0);
        if flags & RPMSENSE_RPMLIB != 0 || n.starts_with("rpmlib(") || n.is_empty() {
            continue;
        }
        let op = match flags & (RPMSENSE_LESS | RPMSENSE_GREATER | RPMSENSE_EQUAL) {
            x if x == RPMSENSE_LESS => "<",
            x if x == RPMSENSE_GREATER => ">",
            x if x == RPMSENSE_EQUAL => "=",
            x if x == RPMSENSE_LESS | RPMSENSE_EQUAL => "<=",
            x if x == RPMSENSE_GREATER | RPMSENSE_EQUAL => ">=",
            _ => "",
        };
        let clause = match req_versions
            .get(i)
            .filter(|v| !v.is_empty() && !op.is_empty())
        {
            Some(v) => format!("{n} {op} {v}"),
            None => n,
        };
        if seen.insert(clause.clone()) {
            h.requires.push(clause);
        }
    }
    Ok(h)
}

/// Turns a header into an inventory package; `gpg-pubkey` pseudo packages are
/// not software and are skipped (as rpm -qa users expect, and Syft does).
pub fn to_package(h: Header, path: &str) -> Option<Package> {
    if h.name == "gpg-pubkey" {
        return None;
    }
    let mut version = match h.epoch {
        Some(e) => format!("{e}:{}", h.version),
        None => h.version.clone(),
    };
    if !h.release.is_empty() {
        version.push('-');
        version.push_str(&h.release);
    }
    let mut p = Package::new(h.name, version, PackageSource::Rpm, path);
    p.arch = h.arch;
    p.source_package = h.sourcerpm;
    p.license = h.license;
    // rpm's Vendor is the organisation that supplies the package; the
    // Packager (a person or team) when no vendor is recorded.
    p.maintainer = h.vendor.or(h.packager).filter(|m| !m.trim().is_empty());
    p.depends = (!h.requires.is_empty()).then(|| h.requires.join(", "));
    p.provides = h.provides;
    Some(p)
}

/// Reads every header of an SQLite rpm database at a host path, opened
/// read-only and immutable (no lock, no journal, no write of any kind).
#[cfg(feature = "rpm-sqlite")]
pub fn read_sqlite(host_path: &std::path::Path) -> Result<Vec<(i64, Vec<u8>)>, String> {
    use rusqlite::{Connection, OpenFlags};
    let uri = format!("file:{}?immutable=1", host_path.display());
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(|e| format!("not an rpm sqlite database: {e}"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a header blob in rpm's on-disk layout.
    pub fn build_header(strings: &[(i32, &str)], epoch: Option<u32>) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        if let Some(e) = epoch {
            index.push((TAG_EPOCH, TYPE_INT32, data.len() as u32, 1u32));
            data.extend_from_slice(&e.to_be_bytes());
        }
        for (tag, s) in strings {
            index.push((*tag, TYPE_STRING, data.len() as u32, 1));
            data.extend_from_slice(s.as_bytes());
            data.push(0);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(index.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for (t, ty, off, c) in index {
            blob.extend_from_slice(&t.to_be_bytes());
            blob.extend_from_slice(&ty.to_be_bytes());
            blob.extend_from_slice(&off.to_be_bytes());
            blob.extend_from_slice(&c.to_be_bytes());
        }
        blob.extend_from_slice(&data);
        blob
    }

    pub fn busybox_blob() -> Vec<u8> {
        build_header(
            &[
                (TAG_NAME, "busybox"),
                (TAG_VERSION, "1.36.1"),
                (TAG_RELEASE, "r0"),
                (TAG_ARCH, "cortexa53"),
                (TAG_LICENSE, "GPL-2.0-only"),
                (TAG_SOURCERPM, "busybox-1.36.1-r0.src.rpm"),
            ],
            Some(1),
        )
    }

    #[test]
    fn parses_header_with_epoch() {
        let h = parse_header(&busybox_blob()).unwrap();
        assert_eq!(h.name, "busybox");
        assert_eq!(h.epoch, Some(1));
        let p = to_package(h, "/var/lib/rpm/Packages.db").unwrap();
        assert_eq!(p.version, "1:1.36.1-r0");
        assert_eq!(p.arch.as_deref(), Some("cortexa53"));
        assert_eq!(
            p.source_package.as_deref(),
            Some("busybox-1.36.1-r0.src.rpm")
        );
    }

    #[test]
    fn rejects_truncated_and_hostile_headers() {
        let b = busybox_blob();
        assert!(parse_header(&b[..b.len() - 3])
            .unwrap_err()
            .contains("truncated"));
        assert!(parse_header(&[0, 0]).is_err());
        let mut huge = b.clone();
        huge[0..4].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
        assert!(parse_header(&huge).unwrap_err().contains("implausible"));
        // Unterminated string: drop the final NUL and shrink dl to match.
        let mut unterminated = b.clone();
        unterminated.pop();
        let dl = u32::from_be_bytes(unterminated[4..8].try_into().unwrap()) - 1;
        unterminated[4..8].copy_from_slice(&dl.to_be_bytes());
        assert!(parse_header(&unterminated)
            .unwrap_err()
            .contains("unterminated"));
        let nameless = build_header(&[(TAG_VERSION, "1")], None);
        assert!(parse_header(&nameless).is_err());
    }

    #[test]
    fn gpg_pubkey_is_skipped() {
        let h = parse_header(&build_header(
            &[(TAG_NAME, "gpg-pubkey"), (TAG_VERSION, "1")],
            None,
        ))
        .unwrap();
        assert!(to_package(h, "x").is_none());
    }
}
