//! The drivers' routes through the release gateway at the configured rate, beside the
//! baseline server: nearest drivers, one-point reports and 50-point batches, from a
//! fleet whose every driver carries an order (so each report times a delivery).

use std::sync::Arc;

use super::{phase, DriversBenchConfig, Lengths};
use crate::{
    baseline::Baseline,
    fleet::{connect, order_places, Fleet},
    run::PhaseResult,
    traffic::Route,
    LoadError,
};

/// One measured phase per route, in the order they run.
pub(super) struct GatewayPhases {
    pub nearest: PhaseResult,
    pub baseline: PhaseResult,
    pub point: PhaseResult,
    pub batch: PhaseResult,
    pub carried: Carried,
}

/// What the reports did to the deliveries the fleet carries.
pub(super) struct Carried {
    /// Deliveries the fleet carries.
    pub deliveries: i64,
    /// Of them, those a report re-timed (a new ETA) while the reports ran.
    pub timed: i64,
    /// Of them, those predicted late (a delay recorded).
    pub late: i64,
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
        eprintln!("giving each driver an order to carry");
        let places = order_places(&connect(&config.database_url).await?).await?;
        fleet.carry_orders(&places).await?;
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
        let reports_started = chrono::Utc::now();
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
        let carried = carried(&config.database_url, &fleet.driver_ids(), reports_started).await?;
        Ok((
            Self {
                nearest,
                baseline: base,
                point,
                batch,
                carried,
            },
            Senders { fleet, baseline },
        ))
    }
}

/// What the reports since `since` did to the deliveries of `drivers`.
async fn carried(
    database_url: &str,
    drivers: &[uuid::Uuid],
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Carried, LoadError> {
    let row = connect(database_url)
        .await?
        .query_one(
            "SELECT count(*) AS deliveries,
                    count(*) FILTER (WHERE d.eta_computed_at >= $2) AS timed,
                    count(*) FILTER (WHERE EXISTS (SELECT 1 FROM delivery_delays dd
                                                    WHERE dd.order_id = ds.order_id)) AS late
               FROM deliveries d JOIN dispatches ds ON ds.id = d.dispatch_id
              WHERE ds.driver_id = ANY($1) AND ds.unassigned_at IS NULL",
            &[&drivers, &since],
        )
        .await
        .map_err(|e| LoadError::Setup(format!("reading the carried deliveries: {e}")))?;
    Ok(Carried {
        deliveries: row.get("deliveries"),
        timed: row.get("timed"),
        late: row.get("late"),
    })
}
