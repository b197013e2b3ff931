//! The marketplace's identifiers: a job's number ([`JobId`]) and a worker's identity
//! ([`WorkerId`]). Each wraps what it was before (a `u64`, an [`Identity`]) with the same
//! borsh bytes and the same JSON (a decimal string, 60 letters), so only the type system
//! changes: a job id cannot be passed where a worker number or a count is meant, nor a
//! requester where a worker is.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::{CodecError, Identity};
use serde::{Deserialize, Serialize};

/// A job's id: its number in submission order, from 1.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl JobId {
    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }
    /// The next id.
    pub const fn next(self) -> JobId {
        JobId(self.0.saturating_add(1))
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for JobId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<JobId, Self::Err> {
        s.trim().parse().map(JobId)
    }
}

impl From<u64> for JobId {
    fn from(n: u64) -> JobId {
        JobId(n)
    }
}

impl From<JobId> for u64 {
    fn from(id: JobId) -> u64 {
        id.0
    }
}

impl PartialEq<u64> for JobId {
    fn eq(&self, other: &u64) -> bool {
        self.0 == *other
    }
}

/// A worker: the identity it registered with.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(transparent)]
pub struct WorkerId(pub Identity);

impl WorkerId {
    /// The identity.
    pub const fn identity(self) -> Identity {
        self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for WorkerId {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<WorkerId, CodecError> {
        s.parse().map(WorkerId)
    }
}

impl From<Identity> for WorkerId {
    fn from(id: Identity) -> WorkerId {
        WorkerId(id)
    }
}

impl From<WorkerId> for Identity {
    fn from(w: WorkerId) -> Identity {
        w.0
    }
}

impl PartialEq<Identity> for WorkerId {
    fn eq(&self, other: &Identity) -> bool {
        self.0 == *other
    }
}

impl PartialEq<WorkerId> for Identity {
    fn eq(&self, other: &WorkerId) -> bool {
        *self == other.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_and_json_as_before() {
        assert_eq!(
            borsh::to_vec(&JobId(7)).unwrap(),
            borsh::to_vec(&7u64).unwrap()
        );
        let w = WorkerId(Identity([3; 32]));
        assert_eq!(borsh::to_vec(&w).unwrap(), borsh::to_vec(&w.0).unwrap());
        assert_eq!(
            comqute_qpi::json::to_json(&JobId(7)).unwrap(),
            serde_json::json!("7")
        );
        assert_eq!(
            comqute_qpi::json::to_json(&w).unwrap(),
            serde_json::json!(w.0.to_string())
        );
        assert_eq!("12".parse::<JobId>().unwrap(), JobId(12));
        assert_eq!(w.to_string().parse::<WorkerId>().unwrap(), w);
    }
}
