//! The routing benchmark's Markdown: what is missing, the goals against the run, the two
//! solvers side by side, every instance, the synthetic day, and how it was run.

use std::fmt::Write;

use super::{day::DayResult, InstanceResult, Outcome, RoutingBenchConfig};

/// The goals on this 2-core machine.
const MAX_AVERAGE_GAP_PERCENT: f64 = 2.0;
const MIN_SHARE_AT_BEST_VEHICLES: f64 = 0.8;
const MAX_SECONDS_PER_INSTANCE: f64 = 10.0;
const MAX_DAY_SECONDS: f64 = 60.0;
const MAX_DAY_MB: f64 = 1024.0;

pub struct Report<'a> {
    pub config: &'a RoutingBenchConfig,
    pub results: &'a [InstanceResult],
    pub day: &'a Result<DayResult, String>,
    pub failures: &'a [String],
}

/// One solver's figures over the instances.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Totals {
    pub solved: usize,
    pub feasible: usize,
    pub at_best_vehicles: usize,
    pub average_gap: Option<f64>,
    pub vehicles: usize,
    pub max_seconds: f64,
    pub mean_seconds: f64,
}

impl Totals {
    pub fn of<'r>(
        results: impl Iterator<Item = (&'r InstanceResult, &'r Result<Outcome, String>)>,
    ) -> Self {
        let mut totals = Totals::default();
        let mut gaps = Vec::new();
        let mut seconds = 0.0;
        for (result, outcome) in results {
            let Ok(o) = outcome else { continue };
            totals.solved += 1;
            totals.feasible += usize::from(o.feasible());
            totals.vehicles += o.vehicles;
            totals.max_seconds = totals.max_seconds.max(o.seconds);
            seconds += o.seconds;
            if let Some(gap) = result.best.as_ref().and_then(|b| o.gap(b)) {
                totals.at_best_vehicles += 1;
                gaps.push(gap);
            }
        }
        totals.average_gap = mean(&gaps);
        if totals.solved > 0 {
            totals.mean_seconds = seconds / totals.solved as f64;
        }
        totals
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The average gap of each solver over the instances where both are at the best-known
/// vehicle count: the like-for-like comparison.
pub fn common_gaps(results: &[InstanceResult]) -> (usize, Option<f64>, Option<f64>) {
    let (mut ours, mut vroom) = (Vec::new(), Vec::new());
    for r in results {
        let Some(best) = &r.best else { continue };
        let gap = |o: &Result<Outcome, String>| o.as_ref().ok().and_then(|o| o.gap(best));
        if let (Some(a), Some(b)) = (gap(&r.ours), gap(&r.vroom)) {
            ours.push(a);
            vroom.push(b);
        }
    }
    (ours.len(), mean(&ours), mean(&vroom))
}

fn percent(value: Option<f64>) -> String {
    value.map_or("–".to_owned(), |v| format!("{v:.2} %"))
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

impl Report<'_> {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) -> std::fmt::Result {
        let ours = Totals::of(self.results.iter().map(|r| (r, &r.ours)));
        let vroom = Totals::of(self.results.iter().map(|r| (r, &r.vroom)));
        let count = self.results.len();
        let best_vehicles: usize = self
            .results
            .iter()
            .filter_map(|r| r.best)
            .map(|b| b.vehicles)
            .sum();
        writeln!(out, "# Routing performance\n")?;
        writeln!(
            out,
            "Written by `{}`. The routing core (`shared::routing`, on vrp-core 1.25.0) on the Li & Lim \
             pickup-and-delivery instances, beside their best-known solutions and beside VROOM \
             (pyvroom) with the same time budget in the same run, then a synthetic day. Every plan is \
             scored from its routes (Euclidean, double precision) and passed through the core's \
             independent feasibility check.\n",
            self.config.command
        )?;
        if !self.failures.is_empty() {
            writeln!(out, "## Missing from this run\n")?;
            for failure in self.failures {
                writeln!(out, "- {failure}")?;
            }
            writeln!(out)?;
        }

        writeln!(out, "## Goals\n")?;
        writeln!(out, "| goal | measured | |")?;
        writeln!(out, "|---|---|---|")?;
        let share = if count > 0 {
            ours.at_best_vehicles as f64 / count as f64
        } else {
            0.0
        };
        writeln!(
            out,
            "| best-known vehicle count on ≥ {:.0} % of instances | {} of {count} ({:.0} %) | {} |",
            MIN_SHARE_AT_BEST_VEHICLES * 100.0,
            ours.at_best_vehicles,
            share * 100.0,
            verdict(count > 0 && share >= MIN_SHARE_AT_BEST_VEHICLES)
        )?;
        writeln!(
            out,
            "| average gap to the best-known distance ≤ {MAX_AVERAGE_GAP_PERCENT:.0} % (there) | {} | {} |",
            percent(ours.average_gap),
            verdict(ours.average_gap.is_some_and(|g| g <= MAX_AVERAGE_GAP_PERCENT))
        )?;
        writeln!(
            out,
            "| ≤ {MAX_SECONDS_PER_INSTANCE:.0} s per instance | at most {:.1} s | {} |",
            ours.max_seconds,
            verdict(ours.solved > 0 && ours.max_seconds <= MAX_SECONDS_PER_INSTANCE)
        )?;
        let (common, ours_common, vroom_common) = common_gaps(self.results);
        writeln!(
            out,
            "| average gap no worse than VROOM's, same budget (instances both solve at the best-known count) | {} vs {} on {common} | {} |",
            percent(ours_common),
            percent(vroom_common),
            verdict(matches!((ours_common, vroom_common), (Some(a), Some(b)) if a <= b + 1e-9))
        )?;
        match self.day {
            Ok(day) => writeln!(
                out,
                "| a {}-order day with {} drivers within {MAX_DAY_SECONDS:.0} s and 1 GB | {:.1} s, {:.0} MB peak, {} of {} served | {} |",
                day.orders,
                day.drivers,
                day.wall_seconds,
                day.peak_rss_mb,
                day.served,
                day.orders,
                verdict(day.wall_seconds <= MAX_DAY_SECONDS && day.peak_rss_mb <= MAX_DAY_MB && day.violations == 0)
            )?,
            Err(e) => writeln!(out, "| the synthetic day | failed: {e} | **missed** |")?,
        }
        writeln!(out)?;

        writeln!(out, "## Side by side\n")?;
        writeln!(out, "| | routing core | VROOM |")?;
        writeln!(out, "|---|---|---|")?;
        writeln!(
            out,
            "| instances solved | {} of {count} | {} of {count} |",
            ours.solved, vroom.solved
        )?;
        writeln!(
            out,
            "| every task served, plan checked feasible | {} | {} |",
            ours.feasible, vroom.feasible
        )?;
        writeln!(
            out,
            "| at the best-known vehicle count | {} | {} |",
            ours.at_best_vehicles, vroom.at_best_vehicles
        )?;
        writeln!(
            out,
            "| average gap there | {} | {} |",
            percent(ours.average_gap),
            percent(vroom.average_gap)
        )?;
        writeln!(
            out,
            "| average gap where both are at it ({common} instances) | {} | {} |",
            percent(ours_common),
            percent(vroom_common)
        )?;
        writeln!(
            out,
            "| vehicles in all (best-known: {best_vehicles}) | {} | {} |",
            ours.vehicles, vroom.vehicles
        )?;
        writeln!(
            out,
            "| seconds per instance, mean / max | {:.2} / {:.2} | {:.2} / {:.2} |",
            ours.mean_seconds, ours.max_seconds, vroom.mean_seconds, vroom.max_seconds
        )?;
        writeln!(out)?;

        writeln!(out, "## Every instance\n")?;
        writeln!(
            out,
            "Vehicles / distance; the gap is shown at the best-known vehicle count only. ✗ marks a plan \
             that left a task out or failed the check.\n"
        )?;
        writeln!(
            out,
            "| instance | tasks | best known | routing core | gap | s | VROOM | gap | s |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
        for r in self.results {
            let best = r.best.map_or("–".to_owned(), |b| {
                format!("{} / {:.2}", b.vehicles, b.distance)
            });
            let cells = |o: &Result<Outcome, String>| match o {
                Ok(o) => format!(
                    "{}{} / {:.2} | {} | {:.2}",
                    if o.feasible() { "" } else { "✗ " },
                    o.vehicles,
                    o.distance,
                    percent(r.best.as_ref().and_then(|b| o.gap(b))),
                    o.seconds
                ),
                Err(e) => format!("failed: {} | – | –", e.replace('|', "/")),
            };
            writeln!(
                out,
                "| {} | {} | {best} | {} | {} |",
                r.name,
                r.tasks,
                cells(&r.ours),
                cells(&r.vroom)
            )?;
        }
        for r in self.results {
            if let Ok(o) = &r.ours {
                for v in o.violations.iter().take(5) {
                    writeln!(out, "\n- {} (routing core): {v}", r.name)?;
                }
            }
        }
        writeln!(out)?;

        writeln!(out, "## The synthetic day\n")?;
        match self.day {
            Ok(day) => {
                writeln!(
                    out,
                    "{} catering orders across San José and its neighbours, due 08:00–15:00 inside \
                     `[due − 30 min, due]`, picked up in the 90 minutes before; {} drivers (cars, vans, \
                     trucks) working 9–10 h from their own start places; travel by the offline estimate. \
                     Planned in its own process with a {:.0} s budget, as the plan job plans a day.\n",
                    day.orders, day.drivers, day.budget_seconds
                )?;
                writeln!(out, "| served | routes | drive time | generations | wall time | peak memory | check |")?;
                writeln!(out, "|---|---|---|---|---|---|---|")?;
                writeln!(
                    out,
                    "| {} of {} | {} | {:.1} h | {} | {:.1} s | {:.0} MB | {} |\n",
                    day.served,
                    day.orders,
                    day.routes,
                    day.drive_hours,
                    day.generations,
                    day.wall_seconds,
                    day.peak_rss_mb,
                    if day.violations == 0 {
                        "feasible".to_owned()
                    } else {
                        format!("{} violations", day.violations)
                    }
                )?;
            }
            Err(e) => writeln!(out, "Failed: {e}\n")?,
        }

        writeln!(out, "## How it was run\n")?;
        writeln!(
            out,
            "- Budget: {:.1} s per instance for both solvers, on this machine's 2 cores.",
            self.config.budget.as_secs_f64()
        )?;
        writeln!(
            out,
            "- Routing core: vrp-core 1.25.0's default search (its default population and heuristic \
             mix, rayon over every core), goal lexicographic: fewest unserved, fewest routes, then \
             distance; stopped by the budget. One vehicle group per type, capacity and places."
        )?;
        writeln!(
            out,
            "- VROOM: pyvroom 1.15.2, exploration level 5, 2 threads, the same budget as a timeout; \
             travel times ×1000 rounded up to VROOM's integers; a fixed cost per vehicle larger than \
             any route, so fewer vehicles come first."
        )?;
        writeln!(
            out,
            "- A release build at the full scale; `BENCH_SCALE=tiny` (the test command) runs every \
             phase on two instances for a second, and its figures mean nothing."
        )?;
        writeln!(
            out,
            "- Tried beside the default and set aside (same budget, the 21 instances the default \
             misses, figures as the sum of gaps where at the best-known count): the crate's static \
             heuristic; its elitism and greedy populations (70.8 and 81.2 against the default's \
             37.9 and 48.8 in two runs); rosomaxa exploring for half the budget rather than 90 % \
             (66.9); and an alternative goal without the route count (29.4 there, but over all 56 \
             instances 39 at the best-known count and a 2.47 % gap, against 44 and 1.46 %). Runs \
             of the same configuration differ by a vehicle here and there."
        )?;
        writeln!(
            out,
            "- Also set aside: several independent starts sharing the budget, the best kept. On \
             the 22 instances a single run had done worst, three starts of a third of the budget \
             cut the sum of gaps from 85.9 to 25.6 (two starts 62.2, five 33.3), but over all 56 \
             they reached the best-known count on 41 with a 1.58 % gap, against 44 and 1.46 % for \
             one start: the wide-window instances (type 2) need the whole budget in one search, \
             and a shorter start stalls there as often as a long one does elsewhere."
        )
    }
}
