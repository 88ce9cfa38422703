//! Latency samples and the process's memory, CPU time and open files.

use std::time::Duration;

/// Latency samples.
#[derive(Debug, Default, Clone)]
pub(crate) struct Samples(Vec<Duration>);

impl Samples {
    /// Adds one.
    pub(crate) fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    /// Adds every sample of `other`.
    pub(crate) fn extend(&mut self, other: &Samples) {
        self.0.extend_from_slice(&other.0);
    }

    /// How many.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The `p`-th percentile (0-100) in milliseconds, by nearest rank;
    /// zero when empty.
    pub(crate) fn percentile_ms(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let mut sorted = self.0.clone();
        sorted.sort();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1000.0
    }
}

/// The resident set size of this process in bytes (Linux
/// `/proc/self/status`), or none elsewhere.
pub(crate) fn rss_bytes() -> Option<u64> {
    accord_node::metrics::resident_bytes(None)
}

/// The CPU time this process has used, user and system, all threads
/// (Linux `/proc/self/stat`, in clock ticks of 10 ms), or none elsewhere.
pub(crate) fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name, in parentheses, may hold spaces: fields are
    // counted after its closing parenthesis (the state is field 3).
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
    let ticks = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    // USER_HZ, which /proc reports in, is 100 on every Linux platform.
    Some(Duration::from_millis((ticks(14)? + ticks(15)?) * 10))
}

/// How many file descriptors this process holds open (Linux
/// `/proc/self/fd`), or none elsewhere.
pub(crate) fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s = Samples::default();
        for ms in 1..=100 {
            s.push(Duration::from_millis(ms));
        }
        assert_eq!(s.percentile_ms(50.0), 50.0);
        assert_eq!(s.percentile_ms(99.0), 99.0);
        assert_eq!(s.percentile_ms(100.0), 100.0);
        assert_eq!(Samples::default().percentile_ms(50.0), 0.0);
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let before = cpu_time().expect("/proc/self/stat");
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let used = cpu_time().expect("/proc/self/stat") - before;
        // At least a tick, however busy the machine's other processes keep
        // its cores.
        assert!(used >= Duration::from_millis(10), "300 ms of spinning counted as {used:?}");
    }
}
