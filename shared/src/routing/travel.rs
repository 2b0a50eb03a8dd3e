//! Travel between a plan's places, from the deployment's distance provider: Google's
//! Distance Matrix when configured (road meters and seconds, in tiles within its
//! per-request limits, cached in `travel_times` for a month), else the offline estimate
//! (great-circle distance × the road factor, at average city speed), which is also what a
//! pair falls back to when Google cannot answer it.

use std::collections::HashMap;

use serde::Serialize;

use super::{Matrix, RoutingError};
use crate::{
    db::{p, GenericClient, RowExt},
    error::{ApiError, ApiResult},
    geo::{haversine_miles, GeoProvider, GoogleMaps, Point, AVERAGE_SPEED_MPS, ROAD_FACTOR},
    AppState,
};

/// Origins and destinations per Distance Matrix request: 10 × 10 is Google's 100
/// elements a request.
const TILE: usize = 10;
/// The most pairs one plan asks Google for (25 requests). Google bills each pair
/// (element); past this, the remaining pairs are estimated and the cache fills over the
/// following plans, as vendors and clients recur.
pub const MAX_GOOGLE_PAIRS: usize = 2_500;
/// How long a cached pair is used before it is asked again.
const CACHE_DAYS: i32 = 30;

/// Where a matrix's figures came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TravelSource {
    /// The offline estimate throughout.
    Offline,
    /// Google's road figures (fresh or cached) throughout.
    Google,
    /// Google's where it answered, the estimate elsewhere.
    Mixed,
}

impl TravelSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TravelSource::Offline => "offline",
            TravelSource::Google => "google",
            TravelSource::Mixed => "mixed",
        }
    }
}

/// One pair's estimate: meters by road and seconds at city speed.
fn estimate(from: Point, to: Point) -> (f64, f64) {
    let meters = haversine_miles(from, to) * crate::geo::METERS_PER_MILE * ROAD_FACTOR;
    (meters, meters / AVERAGE_SPEED_MPS)
}

/// Seconds from one place to another by the offline estimate: what a location report
/// times a driver's stops with, without a round trip to any provider.
pub fn estimated_seconds(from: Point, to: Point) -> f64 {
    estimate(from, to).1
}

/// Every place to every place by the offline estimate. A point that is not a number is
/// refused.
pub fn estimated(points: &[Point]) -> Result<Matrix, RoutingError> {
    let n = points.len();
    let mut meters = Vec::with_capacity(n * n);
    let mut seconds = Vec::with_capacity(n * n);
    for &from in points {
        for &to in points {
            let (m, s) = estimate(from, to);
            meters.push(m);
            seconds.push(s);
        }
    }
    Matrix::new(n, seconds, meters)
}

/// Every place to every place, from the deployment's provider.
pub async fn matrix(
    state: &AppState,
    client: &impl GenericClient,
    points: &[Point],
) -> ApiResult<(Matrix, TravelSource)> {
    let GeoProvider::Google(google) = &*state.geo else {
        return Ok((
            estimated(points).map_err(ApiError::internal)?,
            TravelSource::Offline,
        ));
    };
    road_matrix(state, google, client, points).await
}

/// A place as the cache keys it: to the meter.
fn key(point: Point) -> String {
    format!("{:.5},{:.5}", point.lat, point.lng)
}

async fn road_matrix(
    state: &AppState,
    google: &GoogleMaps,
    client: &impl GenericClient,
    points: &[Point],
) -> ApiResult<(Matrix, TravelSource)> {
    let n = points.len();
    let keys: Vec<String> = points.iter().copied().map(key).collect();
    let mut known: HashMap<(usize, usize), (f64, f64)> = HashMap::new();
    let index: HashMap<&str, usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let cached = client
        .query_typed(
            "SELECT origin, destination, meters, seconds FROM travel_times
              WHERE origin = ANY($1) AND destination = ANY($1)
                AND fetched_at > now() - make_interval(days => $2)",
            &[p(&keys), p(&CACHE_DAYS)],
        )
        .await?;
    for row in &cached {
        let (origin, destination): (String, String) = (row.col("origin")?, row.col("destination")?);
        if let (Some(&a), Some(&b)) = (index.get(origin.as_str()), index.get(destination.as_str()))
        {
            known.insert((a, b), (row.col("meters")?, row.col("seconds")?));
        }
    }
    let missing = |a: usize, b: usize, known: &HashMap<(usize, usize), (f64, f64)>| {
        a != b && !known.contains_key(&(a, b))
    };
    let mut asked = 0;
    let mut fetched: Vec<(usize, usize, f64, f64)> = Vec::new();
    let tiles: Vec<(usize, usize)> = (0..n)
        .step_by(TILE)
        .flat_map(|a| (0..n).step_by(TILE).map(move |b| (a, b)))
        .collect();
    for (a0, b0) in tiles {
        let (origins, destinations) = (a0..(a0 + TILE).min(n), b0..(b0 + TILE).min(n));
        let wanted = origins
            .clone()
            .flat_map(|a| destinations.clone().map(move |b| (a, b)))
            .filter(|&(a, b)| missing(a, b, &known))
            .count();
        if wanted == 0 {
            continue;
        }
        if asked + origins.len() * destinations.len() > MAX_GOOGLE_PAIRS {
            tracing::warn!(
                places = n,
                asked,
                "the plan's Google budget is spent; estimating the rest"
            );
            break;
        }
        asked += origins.len() * destinations.len();
        let answer = google
            .road_matrix(
                state,
                &points[origins.clone()],
                &points[destinations.clone()],
            )
            .await;
        let Some(answer) = answer else {
            // The breaker or the call failed: the rest would too.
            break;
        };
        for (i, row) in answer.into_iter().enumerate() {
            for (j, pair) in row.into_iter().enumerate() {
                if let Some((meters, seconds)) = pair {
                    let (a, b) = (a0 + i, b0 + j);
                    known.insert((a, b), (meters, seconds));
                    fetched.push((a, b, meters, seconds));
                }
            }
        }
    }
    if !fetched.is_empty() {
        let origins: Vec<String> = fetched.iter().map(|x| keys[x.0].clone()).collect();
        let destinations: Vec<String> = fetched.iter().map(|x| keys[x.1].clone()).collect();
        let meters: Vec<f64> = fetched.iter().map(|x| x.2).collect();
        let seconds: Vec<f64> = fetched.iter().map(|x| x.3).collect();
        client
            .execute_typed(
                "INSERT INTO travel_times (origin, destination, meters, seconds)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[])
                 ON CONFLICT (origin, destination)
                 DO UPDATE SET meters = EXCLUDED.meters, seconds = EXCLUDED.seconds, fetched_at = now()",
                &[p(&origins), p(&destinations), p(&meters), p(&seconds)],
            )
            .await?;
    }
    let mut meters = Vec::with_capacity(n * n);
    let mut seconds = Vec::with_capacity(n * n);
    let mut estimated_pairs = 0;
    for a in 0..n {
        for b in 0..n {
            let (m, s) = match known.get(&(a, b)) {
                _ if a == b => (0.0, 0.0),
                Some(&pair) => pair,
                None => {
                    estimated_pairs += 1;
                    estimate(points[a], points[b])
                }
            };
            meters.push(m);
            seconds.push(s);
        }
    }
    let source = match (estimated_pairs, n * n.saturating_sub(1)) {
        (0, _) => TravelSource::Google,
        (e, all) if e == all => TravelSource::Offline,
        _ => TravelSource::Mixed,
    };
    tracing::info!(
        places = n,
        cached = cached.len(),
        fetched = fetched.len(),
        estimated_pairs,
        source = source.as_str(),
        "travel matrix"
    );
    Ok((
        Matrix::new(n, seconds, meters).map_err(ApiError::internal)?,
        source,
    ))
}
