//! The set of contracts a ledger runs, by index.

use std::collections::BTreeMap;
use std::sync::Arc;

use comqute_qpi::contract::Contract;
use comqute_qpi::ContractIndex;

use crate::error::LedgerError;

/// Contracts by index, iterated in index order.
#[derive(Clone, Default)]
pub struct Registry {
    by_index: BTreeMap<ContractIndex, Arc<dyn Contract>>,
}

impl Registry {
    /// Adds a contract; refuses index 0 and a second contract with the same index.
    pub fn add(&mut self, contract: Arc<dyn Contract>) -> Result<(), LedgerError> {
        let i = contract.index();
        if i.0 == 0 {
            return Err(LedgerError::Contracts(format!(
                "{} has index 0, which is the null identity",
                contract.name()
            )));
        }
        if let Some(old) = self.by_index.get(&i) {
            return Err(LedgerError::Contracts(format!(
                "{} and {} both have index {}",
                old.name(),
                contract.name(),
                i.0
            )));
        }
        self.by_index.insert(i, contract);
        Ok(())
    }
    /// The contract with this index.
    pub fn get(&self, i: ContractIndex) -> Option<&Arc<dyn Contract>> {
        self.by_index.get(&i)
    }
    /// All contracts, ascending by index.
    pub fn ascending(&self) -> impl DoubleEndedIterator<Item = &Arc<dyn Contract>> {
        self.by_index.values()
    }
    /// The contract a user names: by name (`job-registry`; `_` for `-` is accepted), by
    /// index (`6`) or by identity (its 60 letters).
    pub fn find(&self, key: &str) -> Option<&Arc<dyn Contract>> {
        let key = key.trim();
        if let Some(c) = self
            .by_index
            .values()
            .find(|c| c.name() == key || c.name().replace('-', "_") == key.replace('-', "_"))
        {
            return Some(c);
        }
        if let Ok(i) = key.parse::<u32>() {
            return self.by_index.get(&ContractIndex(i));
        }
        key.parse::<comqute_qpi::Identity>()
            .ok()
            .and_then(|id| id.contract_index())
            .and_then(|i| self.by_index.get(&i))
    }
    /// Their indices, ascending.
    pub fn indices(&self) -> Vec<ContractIndex> {
        self.by_index.keys().copied().collect()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.by_index.values().map(|c| (c.index().0, c.name())))
            .finish()
    }
}
