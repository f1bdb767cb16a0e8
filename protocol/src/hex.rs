//! Lower-case hex encoding and a tolerant decoder, RFC 4122 version-4 UUID
//! text from random bytes, and seconds since the epoch of a `SystemTime`: the
//! one copy every crate uses (key ids, digests, fingerprints, nonces, SBOM
//! and VEX serial numbers, timestamps). Pure: the caller reads the clock and
//! the random source.

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(DIGITS[usize::from(x >> 4)] as char);
        s.push(DIGITS[usize::from(x & 15)] as char);
    }
    s
}

/// Hex (either case, `:` separators allowed) to bytes; `None` on an odd
/// number of digits or a character that is not a hex digit.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|c| *c != b':').collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|c| Some((nibble(c[0])? << 4) | nibble(c[1])?))
        .collect()
}

/// Exactly `N` bytes of hex.
pub fn unhex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    unhex(s)?.try_into().ok()
}

/// Formats 16 random bytes as an RFC 4122 version-4 UUID
/// (`xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`).
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Whole seconds since the Unix epoch of `t` (0 before the epoch).
pub fn unix_seconds(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&all)).unwrap(), all);
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("AB:cd").unwrap(), vec![0xab, 0xcd]);
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("+1"), None);
        assert_eq!(unhex_array::<2>("abcd"), Some([0xab, 0xcd]));
        assert_eq!(unhex_array::<2>("ab"), None);
    }

    #[test]
    fn uuid_is_v4_and_time_is_clamped() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(uuid_v4([0; 16]), "00000000-0000-4000-8000-000000000000");
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(86_400);
        assert_eq!(unix_seconds(t), 86_400);
        let before = std::time::UNIX_EPOCH - std::time::Duration::from_secs(5);
        assert_eq!(unix_seconds(before), 0);
    }
}
