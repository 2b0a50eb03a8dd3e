//! The original's production gate: 30 drivers reporting a point each, 10 a second in
//! all, for 120 s (shorter at a tiny scale), while the API's database connections are counted every half second.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use super::{phase, DriversBenchConfig, Lengths};
use crate::{
    fleet::{self, Fleet},
    run::PhaseResult,
    traffic::Route,
    LoadError,
};

/// Drivers on shift in the gate.
pub(super) const GATE_DRIVERS: usize = 30;
/// Their reports a second, all together.
pub(super) const GATE_RATE: f64 = 10.0;

/// What the gate measured.
pub(super) struct GateRun {
    pub result: PhaseResult,
    /// The most connections the API held to the database at once.
    pub peak_connections: i64,
}

impl GateRun {
    pub async fn measure(config: &DriversBenchConfig) -> Result<Self, LoadError> {
        eprintln!(
            "the production gate: {GATE_DRIVERS} drivers for {} s",
            config.gate_duration.as_secs_f64()
        );
        let fleet =
            Arc::new(Fleet::create(&config.api_url, &config.database_url, GATE_DRIVERS, 0).await?);
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = tokio::spawn(peak_connections(
            config.database_url.clone(),
            Arc::clone(&sampling),
        ));
        let result = phase(
            &fleet,
            Route::LocationPoint,
            GATE_RATE,
            Lengths {
                warm_up: config.warm_up,
                measured: config.gate_duration,
            },
            "gate",
        )
        .await;
        sampling.store(false, Ordering::Relaxed);
        let peak_connections = sampler
            .await
            .map_err(|e| LoadError::Setup(e.to_string()))??;
        Ok(Self {
            result,
            peak_connections,
        })
    }
}

/// The most client connections to the database, the load tool's own left out, seen in
/// samples every half second while `sampling` holds.
async fn peak_connections(
    database_url: String,
    sampling: Arc<AtomicBool>,
) -> Result<i64, LoadError> {
    let db = fleet::connect(&database_url).await?;
    let mut peak = 0i64;
    while sampling.load(Ordering::Relaxed) {
        let n: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND backend_type = 'client backend'
                    AND application_name NOT LIKE 'load-%'",
                &[],
            )
            .await
            .map_err(|e| LoadError::Setup(e.to_string()))?
            .get(0);
        peak = peak.max(n);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(peak)
}
