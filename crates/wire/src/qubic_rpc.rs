//! The rest of Qubic's public RPC in its own JSON shapes: the archive's endpoints that
//! `QubiPy_RPC` and Qubic's wallets call next to tick info, balances and broadcasts.
//!
//! Where the shapes come from: the protobuf messages of `qubic/go-archiver`
//! (`protobuff/archive.proto`: `GetLatestTickResponse`, `GetStatusResponse`,
//! `GetHealthCheckResponse`, `GetTransactionResponse`, `GetTickDataResponse`,
//! `GetChainHashResponse`, `GetTransferTransactionsPerTickResponse`, `GetComputorsResponse`)
//! rendered by grpc-gateway's JSON mapping as the archiver configures it (camelCase, 64-bit
//! integers as decimal strings, `bytes` as base64, map keys as strings, every field present);
//! `latest-stats` is qubic's stats API (`{"data": {...}}`, as qubipy 0.4.1's tests and the
//! stats service's README show it). Every struct here reads a real answer of Qubic's RPC;
//! the comqute node adds only the fields marked as its own, which a Qubic client ignores.
//!
//! | route ([`crate::routes`]) | answer |
//! |---|---|
//! | `GET latestTick` | [`LatestTickResponse`] |
//! | `GET status` | [`StatusResponse`] |
//! | `GET healthcheck` | [`HealthCheckResponse`] |
//! | `GET latest-stats` | [`LatestStatsResponse`] |
//! | `GET transactions/{id}` | [`TransactionResponse`] |
//! | `GET ticks/{tick}/tick-data` | [`TickDataResponse`] |
//! | `GET ticks/{tick}/chain-hash`, `…/store-hash` | [`HexDigestResponse`] |
//! | `GET identities/{id}/transfer-transactions?startTick=&endTick=` | [`TransferTransactionsResponse`] |
//! | `GET epochs/{epoch}/computors` | [`ComputorsResponse`] |
//! | `GET tx-status/{id}`, read by a Qubic client | [`QubicTxStatusResponse`] |

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dec;

/// `GET latestTick`: `{"latestTick": N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestTickResponse {
    /// The latest tick (on comqute: the last processed one, as tick info says).
    pub latest_tick: u32,
}

/// A tick and its epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessedTick {
    /// The tick.
    pub tick_number: u32,
    /// Its epoch.
    pub epoch: u32,
}

/// A range of ticks, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickInterval {
    /// The first tick.
    pub start_tick: u32,
    /// The last tick.
    pub end_tick: u32,
}

/// Ticks processed without a gap, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessedTickInterval {
    /// The first processed tick.
    pub initial_processed_tick: u32,
    /// The last processed tick.
    pub last_processed_tick: u32,
}

/// The processed ranges of one epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochIntervals {
    /// The epoch.
    pub epoch: u32,
    /// Its processed ranges.
    pub intervals: Vec<ProcessedTickInterval>,
}

/// `GET status`: what the archive holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusResponse {
    /// The last processed tick.
    pub last_processed_tick: ProcessedTick,
    /// Per epoch (a decimal string key), its last processed tick.
    #[serde(default)]
    pub last_processed_ticks_per_epoch: BTreeMap<u32, u32>,
    /// Ranges of ticks the archive does not hold.
    #[serde(default)]
    pub skipped_ticks: Vec<TickInterval>,
    /// Per epoch, the ranges it holds.
    #[serde(default)]
    pub processed_tick_intervals_per_epoch: Vec<EpochIntervals>,
    /// Per epoch (Qubic: the current one only), ticks that ended empty.
    #[serde(default)]
    pub empty_ticks_per_epoch: BTreeMap<u32, u32>,
}

/// `GET healthcheck`: `{"status": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckResponse {
    /// Healthy.
    pub status: bool,
}

/// `GET latest-stats`: `{"data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestStatsResponse {
    /// The figures.
    pub data: LatestStats,
}

/// The network's figures, as Qubic's stats service gives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestStats {
    /// When the figures were taken, seconds since the Unix epoch.
    #[serde(with = "dec")]
    pub timestamp: i64,
    /// Money in circulation.
    #[serde(with = "dec")]
    pub circulating_supply: i64,
    /// Identities with a positive balance.
    pub active_addresses: u32,
    /// The market price in USD (comqute: 0, it has no market price).
    pub price: f64,
    /// `price × circulatingSupply` (comqute: 0).
    #[serde(with = "dec")]
    pub market_cap: i64,
    /// The current epoch.
    pub epoch: u32,
    /// The current tick.
    pub current_tick: u32,
    /// Ticks of the current epoch so far.
    pub ticks_in_current_epoch: u32,
    /// Of them, ticks that ended empty.
    pub empty_ticks_in_current_epoch: u32,
    /// The share of non-empty ticks, in percent.
    pub epoch_tick_quality: f64,
    /// Money ever burned.
    #[serde(with = "dec")]
    pub burned_qus: i64,
}

/// `GET transactions/{id}`: `{"transaction": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionResponse {
    /// The transaction.
    pub transaction: QubicTransaction,
}

/// A transaction in Qubic's archive shape (go-archiver's `Transaction`), with two fields of
/// comqute's own that a Qubic answer does not have.
///
/// On comqute, `inputHex` and `signatureHex` come from the transaction's bytes, which a node
/// keeps for the newest transactions it received itself: when it does not have them,
/// `signatureHex` is empty (a real one never is), and so are `inputHex` and `inputSize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QubicTransaction {
    /// Who signed, an identity.
    pub source_id: String,
    /// Who received, an identity.
    pub dest_id: String,
    /// The amount.
    #[serde(with = "dec")]
    pub amount: i64,
    /// Its tick.
    pub tick_number: u32,
    /// The procedure number (0: a plain transfer).
    pub input_type: u32,
    /// The input's length in bytes.
    pub input_size: u32,
    /// The input in hex.
    pub input_hex: String,
    /// The 64-byte signature in hex.
    pub signature_hex: String,
    /// The id, lowercase.
    pub tx_id: String,
    /// comqute's own: `executed`, `failed` or `dropped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// comqute's own: Qubic's `moneyFlew` (which Qubic answers through `tx-status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub money_flew: Option<bool>,
}

/// `GET ticks/{tick}/tick-data`: `{"tickData": {...}}`, or `{"tickData": null}` for a tick
/// that ended empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickDataResponse {
    /// The tick's data.
    pub tick_data: Option<TickData>,
}

/// What a tick's leader published (Qubic's `TickData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickData {
    /// The leader's index among the computors.
    pub computor_index: u32,
    /// The epoch.
    pub epoch: u32,
    /// The tick.
    pub tick_number: u32,
    /// Milliseconds since the Unix epoch.
    #[serde(with = "dec")]
    pub timestamp: u64,
    /// Qubic's variable part, base64.
    #[serde(default)]
    pub var_struct: String,
    /// Qubic's time lock, base64.
    #[serde(default)]
    pub time_lock: String,
    /// The ids of the tick's transactions, in slot order.
    #[serde(default)]
    pub transaction_ids: Vec<String>,
    /// Per contract, the fee it reported.
    #[serde(default, with = "dec::vec")]
    pub contract_fees: Vec<i64>,
    /// The leader's signature in hex.
    #[serde(default)]
    pub signature_hex: String,
}

/// `GET ticks/{tick}/chain-hash` and `GET ticks/{tick}/store-hash`: `{"hexDigest": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HexDigestResponse {
    /// 32 bytes in hex.
    pub hex_digest: String,
}

/// `GET identities/{id}/transfer-transactions?startTick=&endTick=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferTransactionsResponse {
    /// Per tick with at least one, the identity's transfers.
    pub transfer_transactions_per_tick: Vec<TransferTransactionsPerTick>,
}

/// One tick's transfers of an identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferTransactionsPerTick {
    /// The tick.
    pub tick_number: u32,
    /// The identity.
    pub identity: String,
    /// Its transactions with a non-zero amount, sent or received, in slot order.
    pub transactions: Vec<QubicTransaction>,
}

/// `GET epochs/{epoch}/computors`: `{"computors": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputorsResponse {
    /// The epoch's computors.
    pub computors: Computors,
}

/// The computors of an epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Computors {
    /// The epoch.
    pub epoch: u32,
    /// Their identities, by computor index.
    pub identities: Vec<String>,
    /// The arbitrator's signature over the list, hex.
    #[serde(default)]
    pub signature_hex: String,
}

/// `GET tx-status/{id}` as a Qubic client reads it: `{"transactionStatus": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QubicTxStatusResponse {
    /// The status.
    pub transaction_status: QubicTxStatus,
}

/// A transaction's status: Qubic's `{txId, moneyFlew}`, and what a comqute node adds
/// ([`crate::TxStatusView`]) when it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QubicTxStatus {
    /// The id, lowercase.
    pub tx_id: String,
    /// Whether money moved.
    pub money_flew: bool,
    /// comqute's own: the tick it is scheduled for or ran in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_number: Option<u32>,
    /// comqute's own: `pending`, `executed`, `failed` or `dropped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// comqute's own: the contract error or drop reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers of Qubic's RPC as qubipy 0.4.1's test suite records them
    /// (`tests/conftest.py` of QubiPy-Labs/QubiPy): each reads into its type and writes back
    /// the same JSON.
    #[test]
    fn real_answers_read_and_write_back_unchanged() {
        fn round<T: serde::de::DeserializeOwned + Serialize>(v: serde_json::Value) {
            let t: T = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&t).unwrap(), v);
        }
        round::<StatusResponse>(serde_json::json!({
            "lastProcessedTick": {"tickNumber": 17088292, "epoch": 134},
            "lastProcessedTicksPerEpoch": {"133": 17032837, "134": 17088292},
            "skippedTicks": [{"startTick": 1, "endTick": 13359999},
                             {"startTick": 17032838, "endTick": 17032838}],
            "processedTickIntervalsPerEpoch": [
                {"epoch": 133, "intervals": [{"initialProcessedTick": 16910000, "lastProcessedTick": 17032837}]},
                {"epoch": 134, "intervals": [{"initialProcessedTick": 17032839, "lastProcessedTick": 17088292}]}],
            "emptyTicksPerEpoch": {"133": 3528, "134": 1302}
        }));
        round::<LatestStatsResponse>(serde_json::json!({"data": {
            "timestamp": "1731159377", "circulatingSupply": "120484458286056",
            "activeAddresses": 475436, "price": 1.428e-06, "marketCap": "172051808",
            "epoch": 134, "currentTick": 17088558, "ticksInCurrentEpoch": 55719,
            "emptyTicksInCurrentEpoch": 1308, "epochTickQuality": 97.652504,
            "burnedQus": "13515541713944"}}));
        round::<TickDataResponse>(serde_json::json!({"tickData": {
            "computorIndex": 345, "epoch": 135, "tickNumber": 17184941,
            "timestamp": "1731615775000", "varStruct": "",
            "timeLock": "juE3j+95kHUoVk7gFLqIvm+GftVEbFhtr4yu7cYTFHY=",
            "transactionIds": ["hqomnbbvsdgukctjbyyqxdvcieecrfjpbncnzgbavfxswmltttotjckdprgn"],
            "contractFees": [],
            "signatureHex": "918b4c3a5014e8abc95a7a9c4670e90638272b1e81435c01d21bc80f27156a14581f5664fcc00f87c245c93fb8e2589dd9eb16e83ac36d677e2e1aeae33c1400"}}));
        round::<TickDataResponse>(serde_json::json!({"tickData": null}));
        round::<TransferTransactionsResponse>(serde_json::json!({"transferTransactionsPerTick": [{
            "tickNumber": 17110120,
            "identity": "PCQRHZBMMMTCDAROMBXXLDSPAVJCGKUYMZILJCUHRDGSACXMUAGSEPVAXUCG",
            "transactions": [{
                "sourceId": "PCQRHZBMMMTCDAROMBXXLDSPAVJCGKUYMZILJCUHRDGSACXMUAGSEPVAXUCG",
                "destId": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAFXIB",
                "amount": "1000000", "tickNumber": 17110120, "inputType": 2, "inputSize": 64,
                "inputHex": "91b48b82e9a59a87fe84ebabb0e7957e9333f7d38f831c19a498ffafe42bab66716c692d6370756c86023ed19299a315a71ccbc2619f0a0afad27a7edede1358",
                "signatureHex": "b95ad759a021f73e4387c833386d29653870013383ea86e668b96e19f2aee64d17ce0fbad2e1952314b3e6df7be0cfb68fdc099f48b7175751a4d40e61f90800",
                "txId": "bmtmtgbuxzriledlwttgaatvgwdfqxhgjoltvsjvrfcphthdezdaidcaemih"}]}]}));
        round::<ComputorsResponse>(serde_json::json!({"computors": {"epoch": 134,
            "identities": ["KSOHJQTNNFLLXBXVWQAXZKZVGVQDJCMCRUQIIBSVCFZLGJGNOBQZNAWCNLON"],
            "signatureHex": "22b48edf2d0dcc0deaff66ee0b52125dde3217797cfefe8198811137ffb4699c455f48ff818bb0790a6584a11fe6446e72f5cddb96fb105e9c0c2ee1d3500200"}}));
        round::<QubicTxStatusResponse>(serde_json::json!({"transactionStatus": {
            "txId": "bmtmtgbuxzriledlwttgaatvgwdfqxhgjoltvsjvrfcphthdezdaidcaemih",
            "moneyFlew": true}}));
        round::<HexDigestResponse>(serde_json::json!({
            "hexDigest": "2a8d4845f9de63318a88ab2f2d723ba1f656f3e90214843608bc7e86949704ee"}));
        round::<HealthCheckResponse>(serde_json::json!({"status": true}));
        round::<LatestTickResponse>(serde_json::json!({"latestTick": 17021024}));
    }

    #[test]
    fn query_numbers_read_from_strings_as_qubipy_sends_them() {
        let q: crate::QueryRequest = serde_json::from_value(serde_json::json!({
            "contractIndex": "1", "inputType": "1", "inputSize": "0", "requestData": ""
        }))
        .unwrap();
        assert_eq!(
            (q.contract_index, q.input_type, q.input_size),
            (1, 1, Some(0))
        );
        let q: crate::QueryRequest = serde_json::from_value(serde_json::json!({
            "contractIndex": 10, "inputType": 2, "requestData": ""
        }))
        .unwrap();
        assert_eq!(
            (q.contract_index, q.input_type, q.input_size),
            (10, 2, None)
        );
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            serde_json::json!({"contractIndex": 10, "inputType": 2, "requestData": ""}),
            "written as numbers"
        );
    }
}
