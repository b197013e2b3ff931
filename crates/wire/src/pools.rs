//! Pools and prices as the node's JSON API answers them: the contracts' own records in the
//! kit's JSON rule (camelCase, 64-bit numbers as strings), typed on the Rust side.
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/pools?cursor=&limit=` | [`PoolsPage`] |
//! | `GET /v1/pools/{id}` | [`PoolDetail`]: the pool, its members, what each is owed |
//! | `GET /v1/prices?cursor=&limit=` | [`PricesPage`]: every priced model |
//! | `GET /v1/prices/{model}?maxTokens=&promptTokens=` | [`PriceEstimate`] |
//! | `GET /v1/large-jobs?cursor=&limit=` | [`LargeJobsPage`]: large jobs still bidding |
//! | `GET /v1/large-jobs/{id}` | [`LargeJobDetail`]: the auction (prices sealed until its reveal deadline), winner, parts |

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use comqute_market::job_registry::{LargeJobPage, LargeJobView};
use comqute_market::pools::{PoolPage, PoolView};
use comqute_market::price_oracle::{Estimate, ModelsPage};

/// A contract's record in the kit's JSON rule ([`comqute_qpi::json`]): what a contract's
/// function answers through `/v1/contracts/{c}/query`, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KitJson<T>(pub T);

impl<T: Serialize> Serialize for KitJson<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        comqute_qpi::json::to_json(&self.0)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for KitJson<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        comqute_qpi::json::from_json(&v)
            .map(KitJson)
            .map_err(serde::de::Error::custom)
    }
}

/// `GET /v1/pools`: a page of pools (records; `next_cursor` for the next page).
pub type PoolsPage = KitJson<PoolPage>;
/// `GET /v1/pools/{id}`: one pool with its members, `paid` and `carried`.
pub type PoolDetail = KitJson<PoolView>;
/// `GET /v1/prices`: the models the price oracle has observed, with their published prices.
pub type PricesPage = KitJson<ModelsPage>;
/// `GET /v1/large-jobs`: large jobs whose auction is still open.
pub type LargeJobsPage = KitJson<LargeJobPage>;
/// `GET /v1/large-jobs/{id}`: one large job's auction and parts.
pub type LargeJobDetail = KitJson<LargeJobView>;
/// `GET /v1/prices/{model}`: what a job of that model would cost (`noData` until a price
/// is published).
pub type PriceEstimate = KitJson<Estimate>;
