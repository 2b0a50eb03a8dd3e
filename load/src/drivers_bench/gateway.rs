//! The drivers' routes through the release gateway at the configured rate, beside the
//! baseline server: nearest drivers, one-point reports and 50-point batches.

use std::sync::Arc;

use super::{phase, DriversBenchConfig, Lengths};
use crate::{baseline::Baseline, fleet::Fleet, run::PhaseResult, traffic::Route, LoadError};

/// One measured phase per route, in the order they run.
pub(super) struct GatewayPhases {
    pub nearest: PhaseResult,
    pub baseline: PhaseResult,
    pub point: PhaseResult,
    pub batch: PhaseResult,
}

/// Who sent the phases, for the phases after.
pub(super) struct Senders {
    pub fleet: Arc<Fleet>,
    pub baseline: Arc<Baseline>,
}

impl GatewayPhases {
    /// Puts the configured fleet on shift, then sends each route in turn.
    pub async fn measure(config: &DriversBenchConfig) -> Result<(Self, Senders), LoadError> {
        eprintln!(
            "preparing the fleet: {} drivers on shift, {} staff",
            config.fleet_drivers, config.staff
        );
        let fleet = Arc::new(
            Fleet::create(
                &config.api_url,
                &config.database_url,
                config.fleet_drivers,
                config.staff,
            )
            .await?,
        );
        let baseline = Arc::new(Baseline::new(&config.baseline_url)?);
        let rate = config.rate;
        let lengths = Lengths {
            warm_up: config.warm_up,
            measured: config.duration,
        };
        let nearest = phase(
            &fleet,
            Route::NearestDrivers,
            rate,
            lengths,
            "nearest drivers",
        )
        .await;
        let base = phase(&baseline, Route::Baseline, rate, lengths, "baseline").await;
        let point = phase(
            &fleet,
            Route::LocationPoint,
            rate,
            lengths,
            "one-point reports",
        )
        .await;
        let batch = phase(
            &fleet,
            Route::LocationBatch,
            rate,
            lengths,
            "50-point batches",
        )
        .await;
        Ok((
            Self {
                nearest,
                baseline: base,
                point,
                batch,
            },
            Senders { fleet, baseline },
        ))
    }
}
