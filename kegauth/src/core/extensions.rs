//! What the layers above keep on a [`Store`](crate::core::store::Store), by
//! type: the account flows' mailer, password policy and translator
//! (`services/accounts.rs`). The store carries them without naming their
//! types, as Rocket's managed state does, so the core needs no part of the
//! layers that use it.

use std::any::{Any, TypeId};
use std::sync::Arc;

type Entry = (TypeId, Arc<dyn Any + Send + Sync>);

/// A small map from a type to one value of it; cloning shares the values.
#[derive(Clone, Default)]
pub(crate) struct Extensions(Arc<Vec<Entry>>);

impl Extensions {
    /// The value of type `T`, if one was set.
    pub(crate) fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0
            .iter()
            .find(|(id, _)| *id == TypeId::of::<T>())
            .and_then(|(_, value)| value.downcast_ref())
    }

    /// Set the value of type `T` (replacing the one before) in this copy
    /// only; other clones keep theirs.
    pub(crate) fn set<T: Any + Send + Sync>(&mut self, value: T) {
        let entries = Arc::make_mut(&mut self.0);
        entries.retain(|(id, _)| *id != TypeId::of::<T>());
        entries.push((TypeId::of::<T>(), Arc::new(value)));
    }
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Extensions({} values)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::Extensions;

    #[test]
    fn values_are_found_by_type_and_set_per_copy() {
        let mut a = Extensions::default();
        assert_eq!(a.get::<u32>(), None);
        a.set(7u32);
        a.set(String::from("x"));
        let mut b = a.clone();
        b.set(8u32);
        assert_eq!(a.get::<u32>(), Some(&7));
        assert_eq!(b.get::<u32>(), Some(&8));
        assert_eq!(b.get::<String>().map(String::as_str), Some("x"));
    }
}
