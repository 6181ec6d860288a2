//! Torn writes, for the power-loss simulators (`journal::sim`, `store::crash_sim`): what a
//! file holds after a power cut, given the writes made since its last completed sync.
//!
//! The assumption (ARCHITECTURE.md): a 512-byte sector is written whole or not at all, and
//! the writes to one sector reach it in order; sectors are independent of one another.

/// The unit the disk writes atomically.
pub(crate) const SECTOR: u64 = 512;

/// A seeded xorshift: the same seed gives the same run and the same images.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Applies to `data` what a power cut left of `later` (writes since the last sync, in their
/// order, as offset and bytes): in each sector they touch, the first k of the writes to it
/// landed (k = 0: none did, the old bytes stay), k drawn per sector.
pub(crate) fn tear(data: &mut Vec<u8>, later: &[(u64, &[u8])], rng: &mut Rng) {
    let mut by_sector: std::collections::BTreeMap<u64, Vec<(u64, &[u8])>> = Default::default();
    for &(at, bytes) in later {
        let end = at + bytes.len() as u64;
        let mut sector = at / SECTOR;
        while sector * SECTOR < end {
            by_sector.entry(sector).or_default().push((at, bytes));
            sector += 1;
        }
    }
    for (sector, writes) in by_sector {
        let k = rng.below(writes.len() as u64 + 1) as usize;
        let (from, to) = (sector * SECTOR, (sector + 1) * SECTOR);
        for (at, bytes) in &writes[..k] {
            let lo = from.max(*at);
            let hi = to.min(at + bytes.len() as u64);
            put(data, lo, &bytes[(lo - at) as usize..(hi - at) as usize]);
        }
    }
}

/// Writes `bytes` at `at`, growing `data` with zeros if it is shorter.
pub(crate) fn put(data: &mut Vec<u8>, at: u64, bytes: &[u8]) {
    let (from, to) = (at as usize, at as usize + bytes.len());
    if data.len() < to {
        data.resize(to, 0);
    }
    data[from..to].copy_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sector_holds_the_old_bytes_or_a_prefix_of_its_writes() {
        let (a, b) = (vec![1u8; 1024], vec![2u8; 512]);
        let later: Vec<(u64, &[u8])> = vec![(0, &a), (512, &b)];
        let mut seen = std::collections::BTreeSet::new();
        let mut rng = Rng(7);
        for _ in 0..64 {
            let mut data = vec![0u8; 1024];
            tear(&mut data, &later, &mut rng);
            let (first, second) = (data[0], data[512]);
            assert!(data[..512].iter().all(|&x| x == first), "sector 0 split");
            assert!(data[512..].iter().all(|&x| x == second), "sector 1 split");
            assert!(first == 0 || first == 1, "{first}");
            seen.insert((first, second));
        }
        // Sector 1: old (0), the first write (1) or both (2); sectors tear independently.
        assert_eq!(seen.len(), 6, "{seen:?}");
    }
}
