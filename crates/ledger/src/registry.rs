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
