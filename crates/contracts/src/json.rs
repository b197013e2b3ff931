//! One rule for rendering any contract type as JSON: its `serde` shape, with field names in
//! camelCase and 64-bit integers (and wider) as decimal strings, like Qubic's gateway. Narrower
//! integers stay numbers. Used for jobs, workers, statistics and decoded events, so a new
//! field in a contract type shows up in the API without a second definition.
//!
//! ```
//! use comqute_qpi::Amount;
//! #[derive(serde::Serialize)]
//! struct Paid { job_id: u64, amount: Amount, tokens: u32 }
//! let v = comqute_qpi::json::to_json(&Paid { job_id: 7, amount: Amount(5), tokens: 3 })?;
//! assert_eq!(v, serde_json::json!({"jobId": "7", "amount": "5", "tokens": 3}));
//! # Ok::<(), comqute_qpi::json::ValueError>(())
//! ```

use std::fmt::Display;

use serde::ser::{self, Serialize};
use serde_json::{Map, Value};

/// Why a value could not be rendered (a type with a map key that is not a string or number).
#[derive(Debug, thiserror::Error)]
#[error("cannot render as JSON: {0}")]
pub struct ValueError(String);

impl ser::Error for ValueError {
    fn custom<T: Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

/// Renders `v` with camelCase field names and 64-bit integers as strings.
pub fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<Value, ValueError> {
    v.serialize(ValueSer)
}

/// `snake_case` → `camelCase` (names already in camelCase are unchanged).
pub fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut up = false;
    for c in name.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

struct ValueSer;

/// A sequence, tuple or tuple struct in progress.
pub struct SeqSer {
    items: Vec<Value>,
    variant: Option<&'static str>,
}

/// A map in progress.
pub struct MapSer {
    map: Map<String, Value>,
    key: Option<String>,
}

/// A struct or struct variant in progress.
pub struct StructSer {
    map: Map<String, Value>,
    variant: Option<&'static str>,
}

fn tagged(variant: Option<&'static str>, v: Value) -> Value {
    match variant {
        None => v,
        Some(name) => {
            let mut m = Map::new();
            m.insert(name.to_owned(), v);
            Value::Object(m)
        }
    }
}

impl ser::Serializer for ValueSer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = SeqSer;
    type SerializeMap = MapSer;
    type SerializeStruct = StructSer;
    type SerializeStructVariant = StructSer;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, ValueError> {
        Ok(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ValueError> {
        Ok(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ValueError> {
        Ok(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ValueError> {
        Ok(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ValueError> {
        Ok(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ValueError> {
        Ok(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    // Contract types hold no floats (determinism): one that shows up is refused, not
    // rounded into the JSON.
    fn serialize_f32(self, _v: f32) -> Result<Value, ValueError> {
        Err(ValueError("a float in a contract type".into()))
    }
    fn serialize_f64(self, _v: f64) -> Result<Value, ValueError> {
        Err(ValueError("a float in a contract type".into()))
    }
    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ValueError> {
        Ok(Value::String(hex::encode(v)))
    }
    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, ValueError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        Ok(tagged(Some(variant), v.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, ValueError> {
        Ok(SeqSer {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqSer, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqSer, ValueError> {
        Ok(SeqSer {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapSer, ValueError> {
        Ok(MapSer {
            map: Map::new(),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<StructSer, ValueError> {
        Ok(StructSer {
            map: Map::new(),
            variant: None,
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<StructSer, ValueError> {
        Ok(StructSer {
            map: Map::new(),
            variant: Some(variant),
        })
    }
}

impl SeqSer {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.items.push(v.serialize(ValueSer)?);
        Ok(())
    }
    fn finish(self) -> Value {
        tagged(self.variant, Value::Array(self.items))
    }
}

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ValueError> {
        self.key = Some(match k.serialize(ValueSer)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(ValueError(format!("map key {other} is not a string"))),
        });
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        let k = self
            .key
            .take()
            .ok_or_else(|| ValueError("map value without a key".into()))?;
        self.map.insert(k, v.serialize(ValueSer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Object(self.map))
    }
}

impl StructSer {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), ValueError> {
        self.map.insert(camel(key), v.serialize(ValueSer)?);
        Ok(())
    }
    fn finish(self) -> Value {
        tagged(self.variant, Value::Object(self.map))
    }
}

impl ser::SerializeStruct for StructSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        self.field(key, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for StructSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        self.field(key, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

/// A contract event as JSON: `{"type": variant, ...fields}` (its fields flattened; a tuple
/// variant's payload under `"value"`), by the same rule as [`to_json`].
pub fn event<T: Serialize + ?Sized>(e: &T) -> Result<Value, ValueError> {
    let mut out = Map::new();
    match to_json(e)? {
        Value::Object(m) => {
            for (variant, fields) in m {
                out.insert("type".into(), Value::String(variant));
                match fields {
                    Value::Object(f) => out.extend(f),
                    other => {
                        out.insert("value".into(), other);
                    }
                }
            }
        }
        Value::String(variant) => {
            out.insert("type".into(), Value::String(variant));
        }
        other => {
            out.insert("value".into(), other);
        }
    }
    Ok(Value::Object(out))
}

/// Decodes borsh `data` as the event type `T` and renders it with [`event`]; `None` when the
/// bytes are not one of its events. What [`crate::qpi::Contract::event_json`] implementations
/// call.
pub fn decode_event<T: borsh::BorshDeserialize + Serialize>(data: &[u8]) -> Option<Value> {
    T::try_from_slice(data).ok().and_then(|e| event(&e).ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn floats_are_refused() {
        assert!(super::to_json(&1.5f64).is_err());
        assert!(super::to_json(&(1u8, 0.5f32)).is_err());
    }

    use super::*;
    use serde_json::json;

    #[derive(serde::Serialize)]
    enum E {
        Unit,
        Tuple(u64, u8),
        Struct {
            max_price_per_1k: i64,
            when: Option<u32>,
        },
    }

    #[test]
    fn wide_integers_become_strings_and_names_camel_case() {
        assert_eq!(to_json(&E::Unit).unwrap(), json!("Unit"));
        assert_eq!(
            to_json(&E::Tuple(1, 2)).unwrap(),
            json!({"Tuple": ["1", 2]})
        );
        assert_eq!(
            to_json(&E::Struct {
                max_price_per_1k: -3,
                when: None
            })
            .unwrap(),
            json!({"Struct": {"maxPricePer1k": "-3", "when": null}})
        );
        assert_eq!(camel("already_camelCase"), "alreadyCamelCase");
        assert_eq!(to_json(&[u64::MAX]).unwrap(), json!([u64::MAX.to_string()]));
    }
}
