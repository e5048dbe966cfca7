//! The collection layout: which files exist (host x day x channel), how many background events
//! each holds and where its record ids start. Computed up front from the seed and event budget
//! alone (never from the output format), so every format carries the same events.

use crate::gen::{FileSpec, Placed};
use crate::model::PROVIDERS;
use crate::plant::{plant, Plant};
use crate::rng::{derive, Rng};
use crate::time::{day_start, Civil};
use crate::world::World;
use std::path::PathBuf;

/// Average EVTX bytes per generated event (measured); turns `--size` into an event budget.
pub const EVTX_BYTES_PER_EVENT: u64 = 1_170;

/// Inputs that decide the generated events.
#[derive(Debug, Clone)]
pub struct PlanConfig {
    pub seed: u64,
    /// Total events (background + planted).
    pub events: u64,
    pub hosts: Option<usize>,
    pub days: Option<usize>,
    /// First day, days since 1970-01-01.
    pub start_day: i64,
    /// Planted positives; `None` = 40 per GB of EVTX, at least 12.
    pub planted: Option<usize>,
}

/// The full plan.
#[derive(Debug)]
pub struct Plan {
    pub world: World,
    pub days: usize,
    pub files: Vec<FileSpec>,
    pub plants: Vec<Plant>,
    /// Planted events per file, sorted by time.
    pub placed: Vec<Vec<Placed>>,
}

impl Plan {
    /// Builds the plan.
    pub fn new(cfg: &PlanConfig) -> Plan {
        let events = cfg.events.max(1);
        let hosts = cfg
            .hosts
            .unwrap_or_else(|| ((events as f64 / 2000.0).sqrt().round() as usize).clamp(3, 400))
            .clamp(1, 900);
        let days = cfg
            .days
            .unwrap_or(if events >= 200_000 {
                7
            } else if events >= 20_000 {
                3
            } else {
                2
            })
            .clamp(1, 366);
        let world = World::new(cfg.seed, hosts);
        let gb = (events * EVTX_BYTES_PER_EVENT) as f64 / 1e9;
        let positives = cfg
            .planted
            .unwrap_or_else(|| ((gb * 40.0).round() as usize).max(12));
        let n_files = hosts * days * PROVIDERS.len();
        let mut rng = Rng::new(derive(cfg.seed, &[0x504c_414e]));

        // Weights per file: host volume x day factor (weekends quieter) x channel share.
        let share = [0.66, 0.31, 0.03];
        let mut weights = Vec::with_capacity(n_files);
        for h in 0..hosts {
            for d in 0..days {
                let weekday = (cfg.start_day + d as i64 + 3).rem_euclid(7); // 0 = Monday
                let day_factor = if weekday >= 5 {
                    0.45
                } else {
                    0.8 + 0.4 * rng.unit()
                };
                for s in share {
                    weights.push(world.hosts[h].weight * day_factor * s);
                }
            }
        }
        let (plants, placed_flat) = plant(&world, cfg.seed, positives, days, cfg.start_day);
        let planted_total = placed_flat.len() as u64;
        let bg_total = events.saturating_sub(planted_total).max(n_files as u64);
        let counts = apportion(bg_total, &weights);

        let mut files = Vec::with_capacity(n_files);
        for h in 0..hosts {
            let mut next_ids = [0u64; 3];
            for (p, id) in next_ids.iter_mut().enumerate() {
                *id = 1 + derive(cfg.seed, &[h as u64, p as u64, 0x4944]) % 3_000_000;
            }
            for d in 0..days {
                for (p, provider) in PROVIDERS.iter().enumerate() {
                    let idx = (h * days + d) * PROVIDERS.len() + p;
                    let planted_here = placed_flat.iter().filter(|(f, _)| *f == idx).count() as u64;
                    let background = counts[idx];
                    files.push(FileSpec {
                        host: h,
                        day: d,
                        provider,
                        background,
                        first_record_id: next_ids[p],
                        day_start: day_start(cfg.start_day, d),
                        seed: derive(cfg.seed, &[h as u64, d as u64, p as u64, 0x4649_4c45]),
                    });
                    next_ids[p] += background + planted_here;
                }
            }
        }
        let mut placed: Vec<Vec<Placed>> = vec![Vec::new(); files.len()];
        for (f, p) in placed_flat {
            if let Some(v) = placed.get_mut(f) {
                v.push(p);
            }
        }
        for v in &mut placed {
            v.sort_by_key(|p| (p.event.time, p.plant));
        }
        Plan {
            world,
            days,
            files,
            plants,
            placed,
        }
    }

    /// Path of file `i` relative to the output directory, without extension:
    /// `<host fqdn>/<YYYY-MM-DD>/<Channel>`.
    pub fn rel_stem(&self, i: usize) -> PathBuf {
        let f = &self.files[i];
        let host = &self.world.hosts[f.host];
        let date = Civil::from_filetime(f.day_start).date();
        PathBuf::from(host.fqdn.as_ref())
            .join(date)
            .join(f.provider.file_stem)
    }

    /// Total events the plan will produce.
    pub fn total_events(&self) -> u64 {
        self.files.iter().map(|f| f.background).sum::<u64>()
            + self.placed.iter().map(|v| v.len() as u64).sum::<u64>()
    }
}

/// Splits `total` into integers proportional to `weights` (largest remainder), each at least 1.
pub fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let n = weights.len() as u64;
    if n == 0 {
        return Vec::new();
    }
    let spare = total.saturating_sub(n);
    let sum: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * spare as f64).collect();
    let mut out: Vec<u64> = exact.iter().map(|x| x.floor() as u64 + 1).collect();
    let mut left = total.saturating_sub(out.iter().sum());
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(weights.len() * 2) {
        if left == 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_sums() {
        let v = apportion(1000, &[1.0, 2.0, 3.0, 0.5]);
        assert_eq!(v.iter().sum::<u64>(), 1000);
        assert!(v[2] > v[1] && v[1] > v[0]);
        assert_eq!(apportion(3, &[1.0, 0.0, 0.0]), vec![1, 1, 1]);
    }
}
