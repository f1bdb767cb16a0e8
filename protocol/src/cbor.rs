//! Strict CBOR helpers: a well-formedness scanner that runs *before* any
//! decoder allocates (definite lengths only, bounded nesting, no reserved
//! encodings, no floats, no trailing bytes, lengths within the input), and
//! RFC 8949 §4.2.1 core deterministic ordering of maps for encoding.

use ciborium::value::Value;

/// Why bytes are not acceptable CBOR for this profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CborError {
    Truncated,
    IndefiniteLength,
    TooDeep(usize),
    Reserved(u8),
    Float,
    TrailingBytes(usize),
    Decode(String),
}

impl std::fmt::Display for CborError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CborError::Truncated => write!(f, "truncated CBOR"),
            CborError::IndefiniteLength => write!(
                f,
                "indefinite-length item (profile requires definite lengths)"
            ),
            CborError::TooDeep(d) => write!(f, "nesting deeper than {d}"),
            CborError::Reserved(b) => write!(f, "reserved additional information {b}"),
            CborError::Float => write!(f, "floating-point value (forbidden by the profile)"),
            CborError::TrailingBytes(n) => write!(f, "{n} bytes after the CBOR item"),
            CborError::Decode(m) => write!(f, "CBOR decode: {m}"),
        }
    }
}

/// Checks that `data` is exactly one well-formed CBOR item within the limits.
pub fn check_wellformed(data: &[u8], max_depth: usize) -> Result<(), CborError> {
    let end = item(data, 0, 0, max_depth)?;
    if end != data.len() {
        return Err(CborError::TrailingBytes(data.len() - end));
    }
    Ok(())
}

fn head(data: &[u8], pos: usize) -> Result<(u8, u8, u64, usize), CborError> {
    let b = *data.get(pos).ok_or(CborError::Truncated)?;
    let major = b >> 5;
    let ai = b & 0x1f;
    let (val, len) = match ai {
        0..=23 => (ai as u64, 1),
        24..=27 => {
            let n = 1usize << (ai - 24);
            let bytes = data.get(pos + 1..pos + 1 + n).ok_or(CborError::Truncated)?;
            (bytes.iter().fold(0u64, |a, &x| (a << 8) | x as u64), 1 + n)
        }
        28..=30 => return Err(CborError::Reserved(ai)),
        _ => return Err(CborError::IndefiniteLength),
    };
    Ok((major, ai, val, len))
}

fn item(data: &[u8], pos: usize, depth: usize, max_depth: usize) -> Result<usize, CborError> {
    if depth > max_depth {
        return Err(CborError::TooDeep(max_depth));
    }
    let (major, ai, val, hl) = head(data, pos)?;
    let mut p = pos + hl;
    match major {
        0 | 1 => Ok(p),
        2 | 3 => {
            let n = usize::try_from(val).map_err(|_| CborError::Truncated)?;
            if data.len().saturating_sub(p) < n {
                return Err(CborError::Truncated);
            }
            Ok(p + n)
        }
        4 | 5 => {
            let items = if major == 5 {
                val.checked_mul(2).ok_or(CborError::Truncated)?
            } else {
                val
            };
            // Every item takes at least one byte: reject impossible counts early.
            if items > (data.len() - p) as u64 {
                return Err(CborError::Truncated);
            }
            for _ in 0..items {
                p = item(data, p, depth + 1, max_depth)?;
            }
            Ok(p)
        }
        6 => item(data, p, depth + 1, max_depth),
        _ => match ai {
            20..=23 => Ok(p),
            24 => Ok(p),
            25..=27 => Err(CborError::Float),
            _ => Ok(p),
        },
    }
}

/// Splits a CBOR sequence (RFC 8742) into its items, each checked for
/// well-formedness; at most `max_items` items.
pub fn split_sequence(
    data: &[u8],
    max_depth: usize,
    max_items: usize,
) -> Result<Vec<&[u8]>, CborError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        if out.len() == max_items {
            return Err(CborError::TrailingBytes(data.len() - pos));
        }
        let end = item(data, pos, 0, max_depth)?;
        out.push(&data[pos..end]);
        pos = end;
    }
    Ok(out)
}

/// Encodes a value (preferred serialization, as ciborium writes it).
pub fn to_vec(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = ciborium::ser::into_writer(v, &mut out);
    out
}

/// Sorts every map (recursively) by the bytewise order of its encoded keys.
pub fn canonicalize(v: Value) -> Value {
    match v {
        Value::Map(entries) => {
            let mut e: Vec<(Vec<u8>, Value, Value)> = entries
                .into_iter()
                .map(|(k, val)| {
                    let k = canonicalize(k);
                    (to_vec(&k), k, canonicalize(val))
                })
                .collect();
            e.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(e.into_iter().map(|(_, k, v)| (k, v)).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonicalize).collect()),
        Value::Tag(t, b) => Value::Tag(t, Box::new(canonicalize(*b))),
        other => other,
    }
}

/// Decodes after [`check_wellformed`].
pub fn from_slice(data: &[u8], max_depth: usize) -> Result<Value, CborError> {
    check_wellformed(data, max_depth)?;
    ciborium::de::from_reader(data).map_err(|e| CborError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_indefinite_deep_float_trailing_truncated() {
        assert_eq!(
            check_wellformed(&[0x9f, 0x01, 0xff], 8),
            Err(CborError::IndefiniteLength)
        );
        let mut deep = vec![0x81; 40];
        deep.push(0x01);
        assert_eq!(check_wellformed(&deep, 16), Err(CborError::TooDeep(16)));
        assert_eq!(
            check_wellformed(&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0], 8),
            Err(CborError::Float)
        );
        assert_eq!(
            check_wellformed(&[0x01, 0x02], 8),
            Err(CborError::TrailingBytes(1))
        );
        assert_eq!(
            check_wellformed(&[0x5a, 0xff, 0xff, 0xff, 0xff], 8),
            Err(CborError::Truncated)
        );
        // A huge declared array count cannot make us loop or allocate.
        assert_eq!(
            check_wellformed(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 8),
            Err(CborError::Truncated)
        );
        assert!(check_wellformed(&[0xa1, 0x01, 0x82, 0x02, 0x63, b'a', b'b', b'c'], 8).is_ok());
    }

    #[test]
    fn sequences_split_into_checked_items() {
        let seq = [0x01, 0x82, 0x02, 0x03, 0x41, 0xaa];
        let items = split_sequence(&seq, 8, 10).unwrap();
        assert_eq!(items, vec![&seq[..1], &seq[1..4], &seq[4..]]);
        assert!(split_sequence(&[], 8, 10).unwrap().is_empty());
        assert_eq!(split_sequence(&seq, 8, 2), Err(CborError::TrailingBytes(2)));
        assert_eq!(
            split_sequence(&[0x01, 0x82, 0x02], 8, 10),
            Err(CborError::Truncated)
        );
    }

    #[test]
    fn canonical_order_is_bytewise_on_encoded_keys() {
        let v = Value::Map(vec![
            (Value::Integer((-65537).into()), Value::Null),
            (Value::Integer(256.into()), Value::Null),
            (Value::Integer(6.into()), Value::Null),
            (Value::Integer((-1).into()), Value::Null),
        ]);
        let Value::Map(e) = canonicalize(v) else {
            panic!()
        };
        let keys: Vec<i128> = e
            .iter()
            .map(|(k, _)| k.as_integer().unwrap().into())
            .collect();
        assert_eq!(keys, [6, 256, -1, -65537]);
    }
}
