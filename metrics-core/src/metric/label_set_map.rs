//! The label-set map: lock-free reads, inserts serialized and rare.

use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use papaya::Equivalent;

/// Label sets are inserted once and read on every request. papaya gives lock-free reads and
/// O(1) inserts (a copy-on-write map made creating n label sets cost O(n²)); inserts also take
/// a mutex so the "check the cap, then insert" step is atomic. No lock is taken once a label set
/// exists.
pub(crate) struct LabelSetMap<K, V> {
    map: papaya::HashMap<K, Arc<V>, foldhash::fast::RandomState>,
    writer: Mutex<()>,
}

impl<K: Hash + Eq, V> std::fmt::Debug for LabelSetMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelSetMap")
            .field("len", &self.map.len())
            .finish()
    }
}

impl<K: Hash + Eq, V> LabelSetMap<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            map: papaya::HashMap::with_hasher(foldhash::fast::RandomState::default()),
            writer: Mutex::new(()),
        }
    }

    #[inline]
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        Q: Equivalent<K> + Hash + ?Sized,
    {
        self.map.pin().get(key).cloned()
    }

    /// Applies `f` to the value for `key`, without touching the value's reference count (which
    /// every thread would otherwise write).
    #[inline]
    pub(crate) fn get_with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        Q: Equivalent<K> + Hash + ?Sized,
    {
        self.map.pin().get(key).map(|value| f(value))
    }

    /// Returns the value for `key`, inserting `make(len)` if absent. `make` returns `None` to
    /// refuse the insertion (a cardinality cap), in which case nothing is stored.
    pub(crate) fn get_or_try_insert<Q>(
        &self,
        key: &Q,
        make: impl FnOnce(usize) -> Option<(K, Arc<V>)>,
    ) -> Option<Arc<V>>
    where
        Q: Equivalent<K> + Hash + ?Sized,
    {
        if let Some(found) = self.get(key) {
            return Some(found);
        }
        // A poisoned lock only means another writer panicked; the map itself is intact.
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let map = self.map.pin();
        if let Some(found) = map.get(key) {
            return Some(found.clone());
        }
        let (owned_key, value) = make(map.len())?;
        map.insert(owned_key, value.clone());
        Some(value)
    }

    /// Every value present now (entries added meanwhile may or may not be included).
    pub(crate) fn values(&self) -> Vec<Arc<V>> {
        self.map.pin().values().cloned().collect()
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_once_and_respects_refusal() {
        let map: LabelSetMap<String, u32> = LabelSetMap::new();
        let a = map.get_or_try_insert("a", |_| Some(("a".to_owned(), Arc::new(1))));
        let again = map.get_or_try_insert("a", |_| Some(("a".to_owned(), Arc::new(2))));
        assert_eq!(a.as_deref(), Some(&1));
        assert_eq!(again.as_deref(), Some(&1));
        let refused =
            map.get_or_try_insert("b", |len| (len < 1).then(|| ("b".to_owned(), Arc::new(3))));
        assert!(refused.is_none());
        assert_eq!(map.len(), 1);
        assert_eq!(map.values().len(), 1);
    }

    #[test]
    fn many_inserts_stay_linear() {
        // 100,000 distinct keys: quadratic copying would take minutes here.
        let map: LabelSetMap<u32, u32> = LabelSetMap::new();
        for i in 0..100_000u32 {
            map.get_or_try_insert(&i, |_| Some((i, Arc::new(i))));
        }
        assert_eq!(map.len(), 100_000);
    }
}
