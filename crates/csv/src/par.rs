//! Splitting CPU-bound work (checking, converting, normalising rows) over
//! every core with scoped threads: no pool to manage, no extra dependency.

/// Runs `f` on up to one chunk of `items` per core, in order.
pub fn map_chunks<'a, T: Sync, R: Send>(items: &'a [T], f: impl Fn(&'a [T]) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if items.len() < 1_000 || threads == 1 {
        return vec![f(items)];
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let workers: Vec<_> = items.chunks(chunk).map(|part| s.spawn(move || f(part))).collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker thread panicked"))
            .collect()
    })
}
