//! Reading a JSON file as a stream of records: a top-level array is handed
//! over element by element, and so are the elements of a top-level
//! object's `vulnerabilities` array (NVD 2.0's records); the handler keeps
//! an element it does not take (KEV entries, VEX statements), which is put
//! back into the object. serde_json's recursion limit bounds nesting.

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use std::io::Read;

/// Where an element was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// Index in a top-level array.
    Top(usize),
    /// Index in a top-level object's `vulnerabilities`.
    Vulns(usize),
}

/// What the file was, its streamed elements aside.
#[derive(Debug)]
pub enum Doc {
    /// A top-level array (every element handed over).
    Array,
    /// A top-level object, with the `vulnerabilities` elements the handler kept.
    Object(Map<String, Value>),
}

/// The handler: takes an element (`Ok(None)`), keeps it (`Ok(Some)`), or
/// stops the reading (`Err`).
pub type Handler<'a> = dyn FnMut(Where, Value) -> Result<Option<Value>, String> + 'a;

pub fn read<R: Read>(r: R, item: &mut Handler<'_>) -> Result<Doc, String> {
    let mut de = serde_json::Deserializer::from_reader(r);
    let doc = Top { item }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(doc)
}

struct Top<'a, 'b> {
    item: &'a mut Handler<'b>,
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = Doc;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Doc, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = Doc;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc, A::Error> {
        let mut i = 0;
        while let Some(v) = seq.next_element::<Value>()? {
            (self.item)(Where::Top(i), v).map_err(A::Error::custom)?;
            i += 1;
        }
        Ok(Doc::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
        let mut m = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if k == "vulnerabilities" {
                let kept = map.next_value_seed(Vulns {
                    item: &mut *self.item,
                })?;
                m.insert(k, Value::Array(kept));
            } else {
                let v: Value = map.next_value()?;
                m.insert(k, v);
            }
        }
        Ok(Doc::Object(m))
    }
}

struct Vulns<'a, 'b> {
    item: &'a mut Handler<'b>,
}

impl<'de> DeserializeSeed<'de> for Vulns<'_, '_> {
    type Value = Vec<Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Vulns<'_, '_> {
    type Value = Vec<Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of vulnerabilities")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut kept = Vec::new();
        let mut i = 0;
        while let Some(v) = seq.next_element::<Value>()? {
            if let Some(v) = (self.item)(Where::Vulns(i), v).map_err(A::Error::custom)? {
                kept.push(v);
            }
            i += 1;
        }
        Ok(kept)
    }
}
