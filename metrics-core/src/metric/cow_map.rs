//! A copy-on-write map: lock-free reads, rare serialized writes.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

type Map<K, V> = HashMap<K, Arc<V>, foldhash::fast::RandomState>;

/// Label sets are inserted once and read on every request, so readers load an immutable map
/// through `ArcSwap` (no lock, no allocation) and the rare writer copies it whole.
#[derive(Debug)]
pub(crate) struct CowMap<K, V> {
    current: ArcSwap<Map<K, V>>,
    writer: Mutex<()>,
}

impl<K: Hash + Eq + Clone, V> CowMap<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            current: ArcSwap::from_pointee(Map::default()),
            writer: Mutex::new(()),
        }
    }

    #[inline]
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.current.load().get(key).cloned()
    }

    /// Returns the value for `key`, inserting `make()` if absent. `make` returns `None` to
    /// refuse the insertion (a cardinality cap), in which case nothing is stored.
    pub(crate) fn get_or_try_insert<Q>(
        &self,
        key: &Q,
        make: impl FnOnce(usize) -> Option<(K, Arc<V>)>,
    ) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(found) = self.get(key) {
            return Some(found);
        }
        // A poisoned lock only means another writer panicked; the map itself is intact.
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.current.load_full();
        if let Some(found) = current.get(key) {
            return Some(found.clone());
        }
        let (owned_key, value) = make(current.len())?;
        let mut next = Map::clone(&current);
        next.insert(owned_key, value.clone());
        self.current.store(Arc::new(next));
        Some(value)
    }

    /// The map as it is now; entries added later are not seen.
    pub(crate) fn load(&self) -> Arc<Map<K, V>> {
        self.current.load_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_once_and_respects_refusal() {
        let map: CowMap<String, u32> = CowMap::new();
        let a = map.get_or_try_insert("a", |_| Some(("a".to_owned(), Arc::new(1))));
        let again = map.get_or_try_insert("a", |_| Some(("a".to_owned(), Arc::new(2))));
        assert_eq!(a.as_deref(), Some(&1));
        assert_eq!(again.as_deref(), Some(&1));
        assert!(map
            .get_or_try_insert("b", |len| (len < 1).then(|| ("b".to_owned(), Arc::new(3))))
            .is_none());
        assert_eq!(map.load().len(), 1);
    }
}
