//! The contract kit: typed entry-point descriptors, the dispatch of a call to its handler, and
//! the self-description that the node, the SDK and the CLI read.
//!
//! A contract declares its interface once with [`contract_api!`](crate::contract_api): its
//! index and name, each procedure and function with its number, name, input and output type,
//! its event type and its error type. That gives
//! - a typed descriptor per entry point ([`Proc`], [`Func`]): callers use it to call across
//!   contracts ([`Ctx::call`](crate::contract::Ctx::call),
//!   [`View::query`](crate::contract::View::query)) and to build transactions, so no bare
//!   input-type number is written twice;
//! - `META`, a [`ContractMeta`]: names, numbers, the JSON codecs of every input and output,
//!   the event renderer and the error codes. The node serves it, decodes events and encodes
//!   the CLI's generic `call`/`query` with it, so a new contract needs no change there.
//!
//! The implementation side routes a call with [`dispatch_procedure`] /
//! [`dispatch_function`]: one line per entry point, the decoding, encoding and the "unknown
//! input type" error written once here.
//!
//! ```
//! use borsh::{BorshDeserialize, BorshSerialize};
//! use comqute_qpi::contract::{Contract, Ctx, Output, View};
//! use comqute_qpi::kit::{dispatch_function, dispatch_procedure};
//! use comqute_qpi::ContractError;
//!
//! #[derive(BorshSerialize, BorshDeserialize, serde::Serialize, serde::Deserialize)]
//! pub struct Add { pub by: u64 }
//! #[derive(Debug, BorshSerialize, BorshDeserialize, serde::Serialize)]
//! pub enum Event { Added { total: u64 } }
//! #[derive(Debug, thiserror::Error)]
//! pub enum Error { #[error("overflow")] Overflow }
//! comqute_qpi::rejected_errors!(Error { Overflow = 9_001 });
//!
//! comqute_qpi::contract_api! {
//!     index: 9, name: "counter", events: Event, errors: Error::ALL_CODES,
//!     procedures: { ADD = 1 "add": Add => u64 },
//!     functions: { TOTAL = 1 "total": () => u64 },
//! }
//!
//! struct Counter;
//! impl Contract for Counter {
//!     fn meta(&self) -> &'static comqute_qpi::kit::ContractMeta { &META }
//!     fn procedure(&self, ctx: &mut Ctx<'_>, n: u16, input: &[u8]) -> Output {
//!         dispatch_procedure(ctx, n, input)
//!             .on(ADD, |ctx, a| {
//!                 let total = ctx.get::<u64>(b"t")?.unwrap_or(0).checked_add(a.by).ok_or(Error::Overflow)?;
//!                 ctx.put(b"t", &total)?;
//!                 ctx.emit(&Event::Added { total });
//!                 Ok(total)
//!             })
//!             .done()
//!     }
//!     fn function(&self, view: &View<'_>, n: u16, input: &[u8]) -> Output {
//!         dispatch_function(view, n, input)
//!             .on(TOTAL, |view, ()| Ok(view.get::<u64>(b"t")?.unwrap_or(0)))
//!             .done()
//!     }
//! }
//! assert_eq!(META.procedure("add").unwrap().number, 1);
//! let input = (META.procedure("add").unwrap().input_from_json)(&serde_json::json!({"by": "5"})).unwrap();
//! assert_eq!(input, 5u64.to_le_bytes());
//! ```

use std::fmt;
use std::marker::PhantomData;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::contract::{decode_input, encode, Ctx, Output, View};
use crate::error::ContractError;
use crate::primitives::ContractIndex;

/// Why a JSON value could not become a contract input, or bytes could not be shown as JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecJsonError {
    /// The JSON does not have the input type's shape.
    #[error("input is not a {type_name}: {detail}")]
    Json {
        /// The expected type.
        type_name: &'static str,
        /// serde's complaint.
        detail: String,
    },
    /// The bytes are not a borsh value of the type.
    #[error("bytes are not a {type_name}: {detail}")]
    Borsh {
        /// The expected type.
        type_name: &'static str,
        /// borsh's complaint.
        detail: String,
    },
}

/// The last path segment of a type name, generics kept (`comqute_market::escrow::LockJob` →
/// `LockJob`, `core::option::Option<a::B>` → `Option<B>`).
pub fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(""));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(""));
    out
}

fn json_to_borsh<T: DeserializeOwned + BorshSerialize>(
    v: &Value,
) -> Result<Vec<u8>, CodecJsonError> {
    let t: T = crate::json::from_json(v).map_err(|e| CodecJsonError::Json {
        type_name: std::any::type_name::<T>(),
        detail: e.to_string(),
    })?;
    Ok(encode(&t))
}

fn borsh_to_json<T: BorshDeserialize + Serialize>(b: &[u8]) -> Result<Value, CodecJsonError> {
    let t = T::try_from_slice(b).map_err(|e| CodecJsonError::Borsh {
        type_name: std::any::type_name::<T>(),
        detail: e.to_string(),
    })?;
    crate::json::to_json(&t).map_err(|e| CodecJsonError::Borsh {
        type_name: std::any::type_name::<T>(),
        detail: e.to_string(),
    })
}

/// An entry point (procedure or function) as the tools see it: number, name, and the JSON
/// codecs of its input and output by the rule of [`crate::json`].
#[derive(Clone, Copy)]
pub struct EntryPoint {
    /// The input type number.
    pub number: u16,
    /// Its name (`snake_case`).
    pub name: &'static str,
    /// JSON → the input's borsh bytes.
    pub input_from_json: fn(&Value) -> Result<Vec<u8>, CodecJsonError>,
    /// The input's borsh bytes → JSON (a transaction's decoded input).
    pub input_to_json: fn(&[u8]) -> Result<Value, CodecJsonError>,
    /// The output's borsh bytes → JSON.
    pub output_to_json: fn(&[u8]) -> Result<Value, CodecJsonError>,
    /// The input type's full Rust name.
    pub input_type: fn() -> &'static str,
    /// The output type's full Rust name.
    pub output_type: fn() -> &'static str,
}

impl fmt::Debug for EntryPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntryPoint")
            .field("number", &self.number)
            .field("name", &self.name)
            .field("input", &(self.input_type)())
            .field("output", &(self.output_type)())
            .finish()
    }
}

impl Serialize for EntryPoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("EntryPoint", 4)?;
        st.serialize_field("number", &self.number)?;
        st.serialize_field("name", self.name)?;
        st.serialize_field("input", &short_type_name((self.input_type)()))?;
        st.serialize_field("output", &short_type_name((self.output_type)()))?;
        st.end()
    }
}

/// An error code and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ErrorCode {
    /// The code carried by [`ContractError::Rejected`].
    pub number: u16,
    /// The variant's name.
    pub name: &'static str,
}

impl ErrorCode {
    /// A code.
    pub const fn new(number: u16, name: &'static str) -> ErrorCode {
        ErrorCode { number, name }
    }
}

/// What a contract says about itself, once: index, name, entry points with their JSON
/// codecs, events, error codes. Built by [`contract_api!`](crate::contract_api).
#[derive(Clone, Copy)]
pub struct ContractMeta {
    /// Its index.
    pub index: ContractIndex,
    /// Its name.
    pub name: &'static str,
    /// Procedures, by input type.
    pub procedures: &'static [EntryPoint],
    /// Functions, by input type.
    pub functions: &'static [EntryPoint],
    /// Error codes it refuses calls with ([`ContractError::Rejected`]).
    pub errors: &'static [ErrorCode],
    /// One of its events as JSON (`{"type": variant, ...fields}`), `None` when the bytes are
    /// not one of its events.
    pub event_json: fn(&[u8]) -> Option<Value>,
    /// One of its events for people (its `Debug` form).
    pub describe_event: fn(&[u8]) -> Option<String>,
}

fn no_event(_: &[u8]) -> Option<Value> {
    None
}
fn no_description(_: &[u8]) -> Option<String> {
    None
}

/// `Debug` of a borsh-decoded event, for [`ContractMeta::describe_event`].
pub fn describe<T: BorshDeserialize + fmt::Debug>(data: &[u8]) -> Option<String> {
    T::try_from_slice(data).ok().map(|e| format!("{e:?}"))
}

impl ContractMeta {
    /// A contract that describes nothing (the default of [`crate::contract::Contract::meta`]).
    pub const EMPTY: ContractMeta = ContractMeta {
        index: ContractIndex(0),
        name: "",
        procedures: &[],
        functions: &[],
        errors: &[],
        event_json: no_event,
        describe_event: no_description,
    };

    /// A procedure by name or number (`"3"`).
    pub fn procedure(&self, key: &str) -> Option<&'static EntryPoint> {
        find(self.procedures, key)
    }
    /// A function by name or number.
    pub fn function(&self, key: &str) -> Option<&'static EntryPoint> {
        find(self.functions, key)
    }
    /// Procedure `n`, if declared.
    pub fn procedure_number(&self, n: u16) -> Option<&'static EntryPoint> {
        self.procedures.iter().find(|e| e.number == n)
    }
    /// Function `n`, if declared.
    pub fn function_number(&self, n: u16) -> Option<&'static EntryPoint> {
        self.functions.iter().find(|e| e.number == n)
    }
    /// The name of error `code`, if it is one of this contract's.
    pub fn error_name(&self, code: u16) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|e| e.number == code)
            .map(|e| e.name)
    }
}

fn find(list: &'static [EntryPoint], key: &str) -> Option<&'static EntryPoint> {
    let by_name = list
        .iter()
        .find(|e| e.name == key || e.name.replace('_', "-") == key);
    by_name.or_else(|| {
        key.parse::<u16>()
            .ok()
            .and_then(|n| list.iter().find(|e| e.number == n))
    })
}

impl fmt::Debug for ContractMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContractMeta")
            .field("index", &self.index)
            .field("name", &self.name)
            .field("procedures", &self.procedures)
            .field("functions", &self.functions)
            .field("errors", &self.errors)
            .finish()
    }
}

impl Serialize for ContractMeta {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ContractMeta", 5)?;
        st.serialize_field("index", &self.index.0)?;
        st.serialize_field("name", self.name)?;
        st.serialize_field("procedures", self.procedures)?;
        st.serialize_field("functions", self.functions)?;
        st.serialize_field("errors", self.errors)?;
        st.end()
    }
}

macro_rules! descriptor {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        pub struct $ty<I, O> {
            contract: ContractIndex,
            number: u16,
            name: &'static str,
            io: PhantomData<fn(I) -> O>,
        }

        impl<I, O> Clone for $ty<I, O> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<I, O> Copy for $ty<I, O> {}

        impl<I, O> fmt::Debug for $ty<I, O> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}#{}:{}({})", stringify!($ty), self.contract.0, self.name, self.number)
            }
        }

        impl<I, O> $ty<I, O> {
            /// A descriptor: the contract, the input type number and the name.
            pub const fn new(contract: ContractIndex, number: u16, name: &'static str) -> Self {
                $ty { contract, number, name, io: PhantomData }
            }
            /// The contract it belongs to.
            pub const fn contract(&self) -> ContractIndex {
                self.contract
            }
            /// The input type number (a transaction's `input_type`).
            pub const fn number(&self) -> u16 {
                self.number
            }
            /// Its name.
            pub const fn name(&self) -> &'static str {
                self.name
            }
        }

        impl<I, O> $ty<I, O>
        where
            I: BorshSerialize + BorshDeserialize + Serialize + DeserializeOwned,
            O: BorshDeserialize + Serialize,
        {
            /// Its entry in the contract's [`ContractMeta`].
            pub const fn entry(&self) -> EntryPoint {
                EntryPoint {
                    number: self.number,
                    name: self.name,
                    input_from_json: json_to_borsh::<I>,
                    input_to_json: borsh_to_json::<I>,
                    output_to_json: borsh_to_json::<O>,
                    input_type: std::any::type_name::<I>,
                    output_type: std::any::type_name::<O>,
                }
            }
        }

        impl<I: BorshSerialize, O> $ty<I, O> {
            /// The input's bytes.
            pub fn encode_input(&self, input: &I) -> Vec<u8> {
                encode(input)
            }
        }

        impl<I, O: BorshDeserialize> $ty<I, O> {
            /// The output, decoded from its bytes.
            pub fn decode_output(&self, bytes: &[u8]) -> Result<O, ContractError> {
                O::try_from_slice(bytes).map_err(|e| {
                    ContractError::BadInput(format!("{} output: {e}", self.name))
                })
            }
        }
    };
}

descriptor!(
    /// A procedure of a contract: may change state and receives the invocation reward. `I` is
    /// its input, `O` its output.
    Proc
);
descriptor!(
    /// A function of a contract: read-only. `I` is its input, `O` its output.
    Func
);

macro_rules! dispatcher {
    (
        $(#[$doc:meta])* $ty:ident, $start:ident, $desc:ident, $host:ident: $host_ty:ty,
        $handle:ty, $($mutability:ident)?, $unknown:ident, $what:literal
    ) => {
        $(#[$doc])*
        pub struct $ty<'c, 'a> {
            $host: $host_ty,
            number: u16,
            input: &'c [u8],
            out: Option<Output>,
        }

        #[doc = concat!("Starts routing ", $what, " `number` with `input`.")]
        pub fn $start<'c, 'a>($host: $host_ty, number: u16, input: &'c [u8]) -> $ty<'c, 'a> {
            $ty {
                $host,
                number,
                input,
                out: None,
            }
        }

        impl<'a> $ty<'_, 'a> {
            #[doc = concat!("Runs `handler` with the decoded input when the call is for this ", $what, ".")]
            ///
            /// Takes and returns `&mut self`, so a chain of `.on(…)` moves nothing: a
            /// dispatch is a series of number comparisons and one call.
            #[inline]
            pub fn on<I: BorshDeserialize, O: BorshSerialize>(
                &mut self,
                d: $desc<I, O>,
                handler: impl FnOnce($handle, I) -> Result<O, ContractError>,
            ) -> &mut Self {
                if self.out.is_none() && d.number == self.number {
                    self.out = Some(Self::run(&$($mutability)? *self.$host, self.input, handler));
                }
                self
            }

            /// Decodes, handles and encodes one call in a frame of its own: inlined into
            /// the dispatch chain, every handler's locals would share (and grow) the
            /// caller's frame, which measured slower than one call per dispatch.
            #[inline(never)]
            fn run<I: BorshDeserialize, O: BorshSerialize>(
                host: $handle,
                input: &[u8],
                handler: impl FnOnce($handle, I) -> Result<O, ContractError>,
            ) -> Output {
                decode_input::<I>(input)
                    .and_then(|i| handler(host, i))
                    .map(|o| encode(&o))
            }

            #[doc = concat!("The handler's result, or [`ContractError::", stringify!($unknown), "`].")]
            pub fn done(&mut self) -> Output {
                match self.out.take() {
                    Some(out) => out,
                    None => Err(ContractError::$unknown {
                        contract: self.$host.info().contract.0,
                        input_type: self.number,
                    }),
                }
            }
        }
    };
}

dispatcher!(
    /// Routes a procedure call: `.on(DESCRIPTOR, handler)` per procedure, then `.done()`.
    ProcedureDispatch, dispatch_procedure, Proc, ctx: &'c mut Ctx<'a>, &mut Ctx<'a>, mut,
    UnknownProcedure, "procedure"
);
dispatcher!(
    /// Routes a function call: `.on(DESCRIPTOR, handler)` per function, then `.done()`.
    FunctionDispatch, dispatch_function, Func, view: &'c View<'a>, &View<'a>, ,
    UnknownFunction, "function"
);

/// Declares a contract's interface once: `INDEX`, `NAME`, one [`Proc`]/[`Func`] constant per
/// entry point, and `META` (a [`ContractMeta`]) built from them. See the [module](self) docs.
///
/// Entry points are written `CONST = number "name": Input => Output`, each optionally with
/// doc comments; `errors` is the list of error codes (`MyError::ALL_CODES` from
/// [`rejected_errors!`](crate::rejected_errors), or `&[]`).
#[macro_export]
macro_rules! contract_api {
    (
        index: $index:expr, name: $name:expr, events: $events:ty, errors: $errors:expr,
        procedures: { $( $(#[$pdoc:meta])* $pconst:ident = $pnum:literal $pname:literal : $pin:ty => $pout:ty ),* $(,)? },
        functions: { $( $(#[$fdoc:meta])* $fconst:ident = $fnum:literal $fname:literal : $fin:ty => $fout:ty ),* $(,)? } $(,)?
    ) => {
        /// The contract's index; its id is `Identity::contract(INDEX)`.
        pub const INDEX: $crate::primitives::ContractIndex = $crate::primitives::ContractIndex($index);
        /// The contract's name.
        pub const NAME: &str = $name;
        $(
            $(#[$pdoc])*
            pub const $pconst: $crate::kit::Proc<$pin, $pout> = $crate::kit::Proc::new(INDEX, $pnum, $pname);
        )*
        $(
            $(#[$fdoc])*
            pub const $fconst: $crate::kit::Func<$fin, $fout> = $crate::kit::Func::new(INDEX, $fnum, $fname);
        )*
        /// What the contract says about itself: entry points, events, error codes.
        pub static META: $crate::kit::ContractMeta = $crate::kit::ContractMeta {
            index: INDEX,
            name: NAME,
            procedures: &[ $( $pconst.entry(), )* ],
            functions: &[ $( $fconst.entry(), )* ],
            errors: $errors,
            event_json: $crate::json::decode_event::<$events>,
            describe_event: $crate::kit::describe::<$events>,
        };
    };
}

/// Implements `code()`, `name()`, `ALL_CODES` and the conversion into
/// [`ContractError::Rejected`] for a contract's error enum: one line per variant with its
/// stable code (unique across a genesis; a test of the genesis checks it).
#[macro_export]
macro_rules! rejected_errors {
    ($ty:ident { $($variant:ident = $code:expr),* $(,)? }) => {
        impl $ty {
            /// The stable error code.
            pub fn code(&self) -> u16 {
                match self {
                    $( $ty::$variant { .. } => $code, )*
                }
            }
            /// The variant's name, as carried by `ContractError::Rejected`.
            pub fn name(&self) -> &'static str {
                match self {
                    $( $ty::$variant { .. } => stringify!($variant), )*
                }
            }
            /// Every code with its name, for `ContractMeta::errors`.
            pub const ALL_CODES: &'static [$crate::kit::ErrorCode] =
                &[ $( $crate::kit::ErrorCode::new($code, stringify!($variant)), )* ];
        }
        impl From<$ty> for $crate::error::ContractError {
            fn from(e: $ty) -> Self {
                $crate::error::ContractError::Rejected {
                    code: e.code(),
                    name: e.name().to_string(),
                    detail: e.to_string(),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn type_names_are_shortened() {
        assert_eq!(short_type_name("a::b::LockJob"), "LockJob");
        assert_eq!(
            short_type_name("core::option::Option<x::y::Job>"),
            "Option<Job>"
        );
        assert_eq!(short_type_name("()"), "()");
        assert_eq!(short_type_name("(u64, a::B)"), "(u64, B)");
    }
}
