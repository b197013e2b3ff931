//! A hash map stored densely: entries in one vector, a table of 4-byte positions to find
//! them. The state's maps use it instead of a `HashMap` because a hash table only keeps its
//! speed below ~7/8 full and grows by doubling, so on average about two slots exist per
//! entry: with the entry in the slot (a 48-byte key, a value and its digest cache: 104
//! bytes) that was ~220 bytes an entry; here a slot is 4 bytes and the entry is stored
//! once, ~115 bytes.
//!
//! Lookups only are hashed: iteration walks the vector (insertion order, perturbed by
//! removals, which move the last entry into the hole), so no hash order ever reaches a
//! caller. The hasher is `FxHash`, fixed: the same keys give the same table on every
//! machine, though nothing depends on it.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

fn hash_of<Q: Hash + ?Sized>(k: &Q) -> u64 {
    FxBuildHasher.hash_one(k)
}

/// A map from `K` to `V` with entries in a vector and 4-byte positions in the table.
pub(crate) struct DenseMap<K, V> {
    table: HashTable<u32>,
    entries: Vec<(K, V)>,
}

impl<K, V> Default for DenseMap<K, V> {
    fn default() -> Self {
        DenseMap {
            table: HashTable::new(),
            entries: Vec::new(),
        }
    }
}

impl<K: Hash + Eq, V> DenseMap<K, V> {
    /// The number of entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position<Q: Hash + Eq + ?Sized>(&self, k: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
    {
        let entries = &self.entries;
        self.table
            .find(hash_of(k), |&i| entries[i as usize].0.borrow() == k)
            .map(|&i| i as usize)
    }

    /// The value of `k`.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.position(k).map(|i| &self.entries[i].1)
    }

    /// The value of `k`, to change in place.
    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let i = self.position(k)?;
        Some(&mut self.entries[i].1)
    }

    /// Sets `k` to `v`; returns the old value. An existing entry keeps its key.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        let h = hash_of(&k);
        let entries = &mut self.entries;
        match self
            .table
            .find(h, |&i| entries[i as usize].0 == k)
            .map(|&i| i as usize)
        {
            Some(i) => Some(std::mem::replace(&mut entries[i].1, v)),
            None => {
                // Invariant: 2^32 entries of at least 40 bytes each would need 160 GiB
                // before this could fail; the allocator gives out long before.
                let at = u32::try_from(entries.len()).expect("fewer than 2^32 entries");
                entries.push((k, v));
                let entries = &self.entries;
                self.table
                    .insert_unique(h, at, |&i| hash_of(&entries[i as usize].0));
                None
            }
        }
    }

    /// Removes `k`; returns its value. The last entry moves into its place.
    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let entries = &self.entries;
        let at = match self
            .table
            .find_entry(hash_of(k), |&i| entries[i as usize].0.borrow() == k)
        {
            Ok(e) => e.remove().0 as usize,
            Err(_) => return None,
        };
        let last = self.entries.len() - 1;
        let (_, v) = self.entries.swap_remove(at);
        if at != last {
            // The entry that was last is now at `at`: point its slot there.
            let h = hash_of(&self.entries[at].0);
            // Invariant: every entry has exactly one slot, holding its position.
            let slot = self
                .table
                .find_mut(h, |&i| i as usize == last)
                .expect("the moved entry's slot");
            *slot = at as u32;
        }
        Some(v)
    }

    /// Every entry, in storage order (not a hash order).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<K: Hash + Eq, V> IntoIterator for DenseMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// Any sequence of inserts and removes leaves the map answering like a `BTreeMap`.
        #[test]
        fn agrees_with_a_btree_map(ops in proptest::collection::vec((any::<bool>(), 0u16..300, any::<u32>()), 0..2_000)) {
            let mut d: DenseMap<u16, u32> = DenseMap::default();
            let mut b: BTreeMap<u16, u32> = BTreeMap::new();
            for (ins, k, v) in ops {
                if ins {
                    prop_assert_eq!(d.insert(k, v), b.insert(k, v));
                } else {
                    prop_assert_eq!(d.remove(&k), b.remove(&k));
                }
                prop_assert_eq!(d.len(), b.len());
            }
            for k in 0u16..300 {
                prop_assert_eq!(d.get(&k), b.get(&k));
            }
            let mut all: Vec<(u16, u32)> = d.iter().map(|(k, v)| (*k, *v)).collect();
            all.sort_unstable();
            prop_assert_eq!(all, b.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn get_mut_and_borrowed_lookups() {
        let mut d: DenseMap<Vec<u8>, u8> = DenseMap::default();
        assert!(d.is_empty());
        d.insert(b"ab".to_vec(), 1);
        d.insert(b"cd".to_vec(), 2);
        *d.get_mut(&b"ab"[..]).expect("present") = 7;
        assert_eq!(d.get(&b"ab"[..]), Some(&7));
        assert_eq!(d.remove(&b"ab"[..]), Some(7));
        assert_eq!(d.get(&b"cd"[..]), Some(&2));
        assert_eq!(d.remove(&b"zz"[..]), None);
        assert_eq!(d.len(), 1);
    }
}
