//! [`Table`]: the checker's state per job or per worker, held so that its
//! memory grows with the log it judges, not with `-j` or `-w`.

use std::collections::HashMap;

/// State per id `1..=len`: a vector when the log has at least `len`
/// records (every id could appear; a complete log has a record for each),
/// otherwise a map of the ids the log names. An id never named holds
/// `T::default()`.
pub(super) enum Table<T> {
    /// One slot per id, id `i` at index `i - 1`.
    Dense(Vec<T>),
    /// The ids named so far.
    Sparse(HashMap<u64, T>),
}

impl<T: Clone + Default> Table<T> {
    /// A table for ids `1..=len`, judged from a log of `records` records.
    pub(super) fn new(len: u64, records: usize) -> Self {
        match usize::try_from(len) {
            Ok(n) if n <= records => Table::Dense(vec![T::default(); n]),
            _ => Table::Sparse(HashMap::new()),
        }
    }

    /// The state of `id`, one of `1..=len`.
    pub(super) fn get(&self, id: u64) -> T {
        match self {
            Table::Dense(v) => v[index(id)].clone(),
            Table::Sparse(m) => m.get(&id).cloned().unwrap_or_default(),
        }
    }

    /// The state of `id`, to change.
    pub(super) fn get_mut(&mut self, id: u64) -> &mut T {
        match self {
            Table::Dense(v) => &mut v[index(id)],
            Table::Sparse(m) => m.entry(id).or_default(),
        }
    }

    /// The lowest id of `1..=len` whose state is `wanted`. Bounded by what
    /// the log named: an id never named holds the default, so a search for
    /// it ends within one more than the ids named.
    pub(super) fn lowest(&self, len: u64, wanted: impl Fn(&T) -> bool) -> Option<u64> {
        match self {
            Table::Dense(v) => v.iter().position(wanted).map(|i| i as u64 + 1),
            Table::Sparse(m) if wanted(&T::default()) => (1..=len).find(|id| m.get(id).is_none_or(&wanted)),
            Table::Sparse(m) => m.iter().filter(|(_, t)| wanted(t)).map(|(&id, _)| id).min(),
        }
    }
}

fn index(id: u64) -> usize {
    usize::try_from(id - 1).expect("a dense table's ids fit in memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_agree() {
        for records in [0, 10] {
            let mut t: Table<u8> = Table::new(10, records);
            assert_eq!(matches!(t, Table::Dense(_)), records == 10);
            *t.get_mut(3) = 7;
            *t.get_mut(1) = 9;
            assert_eq!((t.get(3), t.get(2)), (7, 0));
            assert_eq!(t.lowest(10, |&x| x == 0), Some(2));
            assert_eq!(t.lowest(10, |&x| x > 0), Some(1));
            assert_eq!(t.lowest(10, |&x| x == 7), Some(3));
            assert_eq!(t.lowest(10, |&x| x == 8), None);
        }
        // An id range far beyond memory, searched in a few steps.
        let mut huge: Table<bool> = Table::new(u64::MAX, 4);
        for id in 1..=3 {
            *huge.get_mut(id) = true;
        }
        assert_eq!(huge.lowest(u64::MAX, |&x| !x), Some(4));
    }
}
