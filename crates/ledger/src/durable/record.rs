//! The tick log's record: what one commit wrote, and its framing on disk.
//!
//! ```text
//! magic "CQR1" | len u32 | seq u64 | tick u32 | body[len] (borsh RecordBody) | blake3[32]
//! ```
//! Little-endian. The checksum is blake3 of everything before it (header and body), so a
//! flipped bit anywhere in a record, or a record cut short, is noticed. `seq` numbers the
//! records from 0 without gaps; `tick` is the last tick processed when the record was written
//! (read from the header, it names the tick in errors even when the body does not decode).

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::{Amount, Hash32, Identity, Tick};

use crate::receipt::TickSummary;

/// The four bytes that open every record.
pub const RECORD_MAGIC: [u8; 4] = *b"CQR1";
/// Bytes before the body: magic, length, sequence number, tick.
pub const HEADER_LEN: usize = 4 + 4 + 8 + 4;
/// Bytes of the checksum after the body.
pub const CHECKSUM_LEN: usize = 32;
/// The largest body a reader accepts (a larger length field is damage, not data).
pub const MAX_BODY_LEN: usize = 1 << 30;

/// One input, in the order the ledger received it.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Op {
    /// A transaction accepted into the pool: its packed bytes, and whether its signature
    /// needs no check when its tick runs (already verified, or submitted unsigned in harness
    /// mode). Replay submits it the same way, so admission, priority and eviction repeat.
    Submit {
        /// Packed transaction bytes.
        tx: Vec<u8>,
        /// Submitted as verified (no signature check at its tick).
        verified: bool,
    },
    /// The faucet: money minted for an identity outside any transaction.
    Fund {
        /// Who got it.
        to: Identity,
        /// How much.
        amount: Amount,
    },
    /// One tick processed ([`crate::Ledger::process_tick`]).
    Tick,
    /// Ticks processed up to (not including) this one ([`crate::Ledger::warp_to_tick`]);
    /// also stands for a run of idle ticks, which by the digest rule equals a warp over them.
    WarpTo(Tick),
}

/// What one processed tick must reproduce on replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TickCheck {
    /// The tick.
    pub tick: Tick,
    /// Its number of transactions.
    pub tx_count: u32,
    /// Digest of its receipts and events.
    pub receipts_digest: Hash32,
    /// The state digest after it.
    pub state_digest: Hash32,
    /// The chained tick digest.
    pub digest: Hash32,
}

impl TickCheck {
    /// The check for a tick summary of a ledger that digests per tick (a durable ledger
    /// always does; a summary without digests gives zeros, which no replay matches).
    pub fn of(s: &TickSummary) -> TickCheck {
        TickCheck {
            tick: s.tick,
            tx_count: u32::try_from(s.transactions.len()).unwrap_or(u32::MAX),
            receipts_digest: s.receipts_digest,
            state_digest: s.state_digest.unwrap_or_default(),
            digest: s.digest.unwrap_or_default(),
        }
    }
}

/// The body of a record: the inputs since the previous record, the ticks they processed (the
/// non-idle ones), and the ledger's position and digests afterwards.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RecordBody {
    /// Inputs, in order.
    pub ops: Vec<Op>,
    /// Every non-idle tick processed by these inputs, in order.
    pub ticks: Vec<TickCheck>,
    /// The next tick afterwards.
    pub next_tick: Tick,
    /// The ledger digest afterwards.
    pub digest: Hash32,
    /// The state digest afterwards (covers faucet records, which process no tick).
    pub state_digest: Hash32,
}

/// Frames a record: header, body, checksum.
pub fn encode_record(seq: u64, tick: Tick, body: &RecordBody) -> Vec<u8> {
    // Invariant: borsh into a Vec of plain data (no maps, lengths far below u32::MAX) cannot fail.
    let payload = borsh::to_vec(body).expect("borsh serialization of a record body into a Vec");
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + CHECKSUM_LEN);
    out.extend_from_slice(&RECORD_MAGIC);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&tick.0.to_le_bytes());
    out.extend_from_slice(&payload);
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

/// A record's header, read before its body is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Body length.
    pub len: usize,
    /// Sequence number.
    pub seq: u64,
    /// The tick named in the header.
    pub tick: Tick,
}

/// Why the bytes at an offset are not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The file ends inside the record.
    Incomplete,
    /// The magic is wrong.
    BadMagic,
    /// The length field is over [`MAX_BODY_LEN`].
    BadLength(usize),
    /// The checksum does not match.
    BadChecksum,
    /// The checksum matches but the body does not decode.
    BadBody(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Incomplete => write!(f, "the file ends inside the record"),
            FrameError::BadMagic => write!(f, "no record magic"),
            FrameError::BadLength(n) => write!(f, "length field {n} is over the maximum"),
            FrameError::BadChecksum => write!(f, "checksum does not match"),
            FrameError::BadBody(e) => write!(f, "body does not decode: {e}"),
        }
    }
}

/// Reads the header at the start of `bytes`, if there are enough bytes.
pub fn read_header(bytes: &[u8]) -> Option<Header> {
    if bytes.len() < HEADER_LEN {
        return None;
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&bytes[8..16]);
    Some(Header {
        len: u32_at(4) as usize,
        seq: u64::from_le_bytes(seq),
        tick: Tick(u32_at(16)),
    })
}

/// Decodes the record at the start of `bytes`: its header, body and total length.
pub fn decode_record(
    bytes: &[u8],
) -> Result<(Header, RecordBody, usize), (Option<Header>, FrameError)> {
    let Some(h) = read_header(bytes) else {
        return Err((None, FrameError::Incomplete));
    };
    if bytes[..4] != RECORD_MAGIC {
        return Err((Some(h), FrameError::BadMagic));
    }
    if h.len > MAX_BODY_LEN {
        return Err((Some(h), FrameError::BadLength(h.len)));
    }
    let total = HEADER_LEN + h.len + CHECKSUM_LEN;
    if bytes.len() < total {
        return Err((Some(h), FrameError::Incomplete));
    }
    let sum = blake3::hash(&bytes[..HEADER_LEN + h.len]);
    if sum.as_bytes()[..] != bytes[HEADER_LEN + h.len..total] {
        return Err((Some(h), FrameError::BadChecksum));
    }
    let body = RecordBody::try_from_slice(&bytes[HEADER_LEN..HEADER_LEN + h.len])
        .map_err(|e| (Some(h), FrameError::BadBody(e.to_string())))?;
    Ok((h, body, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> RecordBody {
        RecordBody {
            ops: vec![
                Op::Submit {
                    tx: vec![1, 2, 3],
                    verified: true,
                },
                Op::Fund {
                    to: Identity([7; 32]),
                    amount: Amount(5),
                },
                Op::Tick,
                Op::WarpTo(Tick(9)),
            ],
            ticks: vec![TickCheck {
                tick: Tick(3),
                tx_count: 1,
                receipts_digest: Hash32([1; 32]),
                state_digest: Hash32([2; 32]),
                digest: Hash32([3; 32]),
            }],
            next_tick: Tick(9),
            digest: Hash32([3; 32]),
            state_digest: Hash32([2; 32]),
        }
    }

    #[test]
    fn round_trips_and_notices_every_flip() {
        let bytes = encode_record(4, Tick(8), &body());
        let (h, b, n) = decode_record(&bytes).unwrap();
        assert_eq!((h.seq, h.tick, n), (4, Tick(8), bytes.len()));
        assert_eq!(b, body());
        for i in 0..bytes.len() {
            let mut c = bytes.clone();
            c[i] ^= 0x10;
            assert!(decode_record(&c).is_err(), "flip at {i} went unnoticed");
        }
        for cut in 0..bytes.len() {
            assert!(decode_record(&bytes[..cut]).is_err());
        }
    }
}
