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
}

/// Parses an rpm header blob as stored in the database (index count and data
/// length, big-endian, then the index entries and the data store).
pub fn parse_header(blob: &[u8]) -> Result<Header, String> {
    let be32 = |b: &[u8], at: usize| -> Option<u32> {
        b.get(at..at + 4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    let il = be32(blob, 0).ok_or("header shorter than 8 bytes")? as usize;
    let dl = be32(blob, 4).ok_or("header shorter than 8 bytes")? as usize;
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
    let mut h = Header::default();
    for i in 0..il {
        let at = 8 + i * 16;
        let (Some(tag), Some(ty), Some(off), Some(count)) = (
            be32(blob, at),
            be32(blob, at + 4),
            be32(blob, at + 8),
            be32(blob, at + 12),
        ) else {
            return Err("index entry out of bounds".into());
        };
        let tag = tag as i32;
        let off = off as usize;
        let string = || -> Result<String, String> {
            if ty != TYPE_STRING && ty != TYPE_I18NSTRING {
                return Err(format!("tag {tag}: type {ty} is not a string"));
            }
            let tail = data
                .get(off..)
                .ok_or_else(|| format!("tag {tag}: offset out of bounds"))?;
            let end = tail
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| format!("tag {tag}: unterminated string"))?;
            Ok(String::from_utf8_lossy(&tail[..end]).into_owned())
        };
        match tag {
            TAG_NAME => h.name = string()?,
            TAG_VERSION => h.version = string()?,
            TAG_RELEASE => h.release = string()?,
            TAG_ARCH => h.arch = Some(string()?),
            TAG_LICENSE => h.license = Some(string()?),
            TAG_SOURCERPM => h.sourcerpm = Some(string()?),
            TAG_EPOCH => {
                if ty != TYPE_INT32 || count < 1 {
                    return Err("EPOCH is not an INT32".into());
                }
                h.epoch = Some(be32(data, off).ok_or("EPOCH offset out of bounds")?);
            }
            _ => {}
        }
    }
    if h.name.is_empty() || h.version.is_empty() {
        return Err("header without NAME or VERSION".into());
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
