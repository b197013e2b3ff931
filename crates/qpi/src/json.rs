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

use serde::de;
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
/// bytes are not one of its events. What [`crate::contract::Contract::event_json`] implementations
/// call.
pub fn decode_event<T: borsh::BorshDeserialize + Serialize>(data: &[u8]) -> Option<Value> {
    T::try_from_slice(data).ok().and_then(|e| event(&e).ok())
}

/// Why a JSON value is not the type asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FromJsonError(String);

impl de::Error for FromJsonError {
    fn custom<T: Display>(msg: T) -> Self {
        FromJsonError(msg.to_string())
    }
}

/// Reads a contract type from JSON by the inverse of [`to_json`]: field names in camelCase
/// (the Rust `snake_case` name is accepted too), 64-bit and wider integers as decimal strings
/// or as numbers, an enum as `"Variant"` or `{"Variant": payload}`, `null` for `None` and
/// `()`. Floats are refused, as in [`to_json`]. What the CLI's `call --input JSON` and the
/// node's encode endpoint use, so a contract's input needs only `serde::Deserialize`.
///
/// ```
/// use comqute_qpi::Amount;
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Pay { job_id: u64, amount: Amount, tokens: u32 }
/// let v = serde_json::json!({"jobId": "7", "amount": 5, "tokens": 3});
/// assert_eq!(comqute_qpi::json::from_json::<Pay>(&v)?, Pay { job_id: 7, amount: Amount(5), tokens: 3 });
/// # Ok::<(), comqute_qpi::json::FromJsonError>(())
/// ```
pub fn from_json<T: de::DeserializeOwned>(v: &Value) -> Result<T, FromJsonError> {
    T::deserialize(ValueDe(v))
}

struct ValueDe<'v>(&'v Value);

impl ValueDe<'_> {
    fn kind(&self) -> &'static str {
        match self.0 {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
    fn wrong(&self, want: &str) -> FromJsonError {
        FromJsonError(format!("expected {want}, found {}", self.kind()))
    }
    /// An integer given as a JSON number or a decimal string.
    fn int<T: std::str::FromStr + TryFrom<i128>>(&self, want: &str) -> Result<T, FromJsonError> {
        match self.0 {
            Value::Number(n) => {
                let wide = if let Some(u) = n.as_u64() {
                    i128::from(u)
                } else if let Some(i) = n.as_i64() {
                    i128::from(i)
                } else {
                    return Err(FromJsonError(format!("expected {want}, found {n}")));
                };
                T::try_from(wide)
                    .map_err(|_| FromJsonError(format!("{n} is out of range for {want}")))
            }
            Value::String(s) => s
                .trim()
                .parse::<T>()
                .map_err(|_| FromJsonError(format!("{s:?} is not {want}"))),
            _ => Err(self.wrong(want)),
        }
    }
}

macro_rules! de_int {
    ($($method:ident => $visit:ident $t:ty, $want:literal;)*) => {
        $(
            fn $method<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, FromJsonError> {
                v.$visit(self.int::<$t>($want)?)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for ValueDe<'_> {
    type Error = FromJsonError;

    fn deserialize_any<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, FromJsonError> {
        match self.0 {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    v.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    v.visit_i64(i)
                } else {
                    Err(FromJsonError(format!("{n}: fractions are not allowed")))
                }
            }
            Value::String(s) => v.visit_str(s),
            Value::Array(a) => v.visit_seq(SeqDe(a.iter())),
            Value::Object(m) => v.visit_map(MapDe {
                iter: m.iter(),
                value: None,
                fields: &[],
            }),
        }
    }

    de_int! {
        deserialize_i8 => visit_i8 i8, "an 8-bit integer";
        deserialize_i16 => visit_i16 i16, "a 16-bit integer";
        deserialize_i32 => visit_i32 i32, "a 32-bit integer";
        deserialize_i64 => visit_i64 i64, "a 64-bit integer";
        deserialize_i128 => visit_i128 i128, "a 128-bit integer";
        deserialize_u8 => visit_u8 u8, "an unsigned 8-bit integer";
        deserialize_u16 => visit_u16 u16, "an unsigned 16-bit integer";
        deserialize_u32 => visit_u32 u32, "an unsigned 32-bit integer";
        deserialize_u64 => visit_u64 u64, "an unsigned 64-bit integer";
    }

    fn deserialize_u128<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, FromJsonError> {
        match self.0 {
            Value::String(s) => v.visit_u128(
                s.trim()
                    .parse()
                    .map_err(|_| FromJsonError(format!("{s:?} is not an unsigned integer")))?,
            ),
            _ => v.visit_u64(self.int::<u64>("an unsigned integer")?),
        }
    }

    fn deserialize_f32<V: de::Visitor<'de>>(self, _v: V) -> Result<V::Value, FromJsonError> {
        Err(FromJsonError("contract types hold no floats".into()))
    }
    fn deserialize_f64<V: de::Visitor<'de>>(self, _v: V) -> Result<V::Value, FromJsonError> {
        Err(FromJsonError("contract types hold no floats".into()))
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, FromJsonError> {
        match self.0 {
            Value::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_unit<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, FromJsonError> {
        match self.0 {
            Value::Null => v.visit_unit(),
            Value::Object(m) if m.is_empty() => v.visit_unit(),
            Value::Array(a) if a.is_empty() => v.visit_unit(),
            _ => Err(self.wrong("null")),
        }
    }
    fn deserialize_unit_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, FromJsonError> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, FromJsonError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, FromJsonError> {
        match self.0 {
            Value::Array(a) => v.visit_seq(SeqDe(a.iter())),
            // Bytes may be given as hex.
            Value::String(s) => match hex::decode(s.trim()) {
                Ok(bytes) => v.visit_seq(de::value::SeqDeserializer::<_, FromJsonError>::new(
                    bytes.into_iter(),
                )),
                Err(_) => Err(self.wrong("an array (or hex bytes)")),
            },
            _ => Err(self.wrong("an array")),
        }
    }
    fn deserialize_tuple<V: de::Visitor<'de>>(
        self,
        _len: usize,
        v: V,
    ) -> Result<V::Value, FromJsonError> {
        self.deserialize_seq(v)
    }
    fn deserialize_tuple_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, FromJsonError> {
        self.deserialize_seq(v)
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, FromJsonError> {
        match self.0 {
            Value::Object(m) => {
                for key in m.keys() {
                    if !fields.iter().any(|f| f == key || camel(f) == *key) {
                        let known: Vec<String> = fields.iter().map(|f| camel(f)).collect();
                        return Err(FromJsonError(format!(
                            "unknown field {key:?}; the fields are {}",
                            known.join(", ")
                        )));
                    }
                }
                v.visit_map(MapDe {
                    iter: m.iter(),
                    value: None,
                    fields,
                })
            }
            _ => Err(self.wrong("an object")),
        }
    }

    fn deserialize_map<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, FromJsonError> {
        match self.0 {
            Value::Object(m) => v.visit_map(MapDe {
                iter: m.iter(),
                value: None,
                fields: &[],
            }),
            _ => Err(self.wrong("an object")),
        }
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, FromJsonError> {
        match self.0 {
            Value::String(s) => v.visit_enum(EnumDe {
                variant: s,
                payload: None,
            }),
            Value::Object(m) if m.len() == 1 => {
                // Invariant: the map has exactly one entry.
                let (k, p) = m.iter().next().expect("one entry");
                v.visit_enum(EnumDe {
                    variant: k,
                    payload: Some(p),
                })
            }
            _ => Err(self.wrong("a variant name or {\"Variant\": payload}")),
        }
    }

    fn deserialize_identifier<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, FromJsonError> {
        match self.0 {
            Value::String(s) => v.visit_str(s),
            _ => Err(self.wrong("a name")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool char str string bytes byte_buf ignored_any
    }
}

struct SeqDe<'v>(std::slice::Iter<'v, Value>);

impl<'de> de::SeqAccess<'de> for SeqDe<'_> {
    type Error = FromJsonError;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, FromJsonError> {
        match self.0.next() {
            Some(v) => seed.deserialize(ValueDe(v)).map(Some),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapDe<'v> {
    iter: serde_json::map::Iter<'v>,
    value: Option<&'v Value>,
    /// A struct's field names: a camelCase key is handed to serde as the field's own name.
    fields: &'static [&'static str],
}

impl<'de> de::MapAccess<'de> for MapDe<'_> {
    type Error = FromJsonError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FromJsonError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                let name = self
                    .fields
                    .iter()
                    .find(|f| camel(f) == *k)
                    .map_or(k.as_str(), |f| f);
                seed.deserialize(de::value::StrDeserializer::<FromJsonError>::new(name))
                    .map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, FromJsonError> {
        match self.value.take() {
            Some(v) => seed.deserialize(ValueDe(v)),
            None => Err(FromJsonError("a value without its key".into())),
        }
    }
}

struct EnumDe<'v> {
    variant: &'v str,
    payload: Option<&'v Value>,
}

impl<'de, 'v> de::EnumAccess<'de> for EnumDe<'v> {
    type Error = FromJsonError;
    type Variant = VariantDe<'v>;
    fn variant_seed<V: de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantDe<'v>), FromJsonError> {
        let v = seed.deserialize(de::value::StrDeserializer::<FromJsonError>::new(
            self.variant,
        ))?;
        Ok((v, VariantDe(self.payload)))
    }
}

struct VariantDe<'v>(Option<&'v Value>);

impl<'de> de::VariantAccess<'de> for VariantDe<'_> {
    type Error = FromJsonError;
    fn unit_variant(self) -> Result<(), FromJsonError> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(_) => Err(FromJsonError("this variant takes no payload".into())),
        }
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, FromJsonError> {
        match self.0 {
            Some(v) => seed.deserialize(ValueDe(v)),
            None => Err(FromJsonError("this variant takes a payload".into())),
        }
    }
    fn tuple_variant<V: de::Visitor<'de>>(
        self,
        len: usize,
        v: V,
    ) -> Result<V::Value, FromJsonError> {
        match self.0 {
            Some(p) => de::Deserializer::deserialize_tuple(ValueDe(p), len, v),
            None => Err(FromJsonError("this variant takes a payload".into())),
        }
    }
    fn struct_variant<V: de::Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, FromJsonError> {
        match self.0 {
            Some(p) => de::Deserializer::deserialize_struct(ValueDe(p), "", fields, v),
            None => Err(FromJsonError("this variant takes fields".into())),
        }
    }
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

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    enum Choice {
        Off,
        Price(u64),
        Range { low_bound: i64, high: Option<u32> },
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Input {
        job_id: u64,
        max_price_per_1k: crate::Amount,
        who: crate::Identity,
        tags: Vec<String>,
        choice: Choice,
        other: Option<Choice>,
        pair: (u8, u128),
        unit: (),
    }

    #[test]
    fn from_json_reads_back_what_to_json_writes() {
        let x = Input {
            job_id: u64::MAX,
            max_price_per_1k: crate::Amount(-4),
            who: crate::Identity([7; 32]),
            tags: vec!["a".into()],
            choice: Choice::Range {
                low_bound: i64::MIN,
                high: Some(3),
            },
            other: Some(Choice::Off),
            pair: (1, u128::MAX),
            unit: (),
        };
        let v = to_json(&x).unwrap();
        assert_eq!(from_json::<Input>(&v).unwrap(), x);
        // Hand-written JSON: numbers for 64-bit fields, snake_case names.
        let hand = json!({"job_id": 3, "maxPricePer1k": 5, "who": x.who.to_string(), "tags": [],
            "choice": {"Price": 9}, "other": null, "pair": [1, "2"], "unit": null});
        let y = from_json::<Input>(&hand).unwrap();
        assert_eq!((y.job_id, y.choice, y.pair), (3, Choice::Price(9), (1, 2)));
    }

    #[test]
    fn from_json_refuses_with_a_reason() {
        let e = from_json::<Input>(&json!({"jobId": 1.5})).unwrap_err();
        assert!(e.to_string().contains("1.5"), "{e}");
        let e = from_json::<Input>(&json!({"jobID": 1})).unwrap_err();
        assert!(e.to_string().contains("unknown field \"jobID\""), "{e}");
        assert!(e.to_string().contains("maxPricePer1k"), "{e}");
        let e = from_json::<u8>(&json!(300)).unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = from_json::<u64>(&json!("12x")).unwrap_err();
        assert!(e.to_string().contains("\"12x\""), "{e}");
        assert!(from_json::<crate::Identity>(&json!("NOTANID")).is_err());
        assert!(from_json::<Choice>(&json!({"Nope": 1})).is_err());
    }
}
