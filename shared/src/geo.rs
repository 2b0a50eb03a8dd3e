//! Places and distances.
//!
//! Two providers behind one interface: `offline` (the default) geocodes by US ZIP-code
//! centroid from the `zip_centroids` table and estimates driving distance as the
//! great-circle distance × 1.35; `google` asks the Geocoding and Distance Matrix APIs
//! (key from Secrets Manager, 5 s timeout) behind a circuit breaker, and falls back to the
//! offline answer when Google fails or the breaker is open.

use std::{
    sync::{
        atomic::{AtomicU32, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

use serde::Serialize;
use tokio::sync::OnceCell;

use crate::{
    db::{p, GenericClient, RowExt},
    error::{ApiError, ApiResult},
    AppState,
};

/// Road distance is longer than the straight line; 1.35 is the original's factor.
pub const ROAD_FACTOR: f64 = 1.35;
/// Average city driving speed for offline travel times and ETAs (25 mph).
pub const AVERAGE_SPEED_MPS: f64 = 11.176;
pub const METERS_PER_MILE: f64 = 1609.344;
const EARTH_RADIUS_MILES: f64 = 3958.8;
const GOOGLE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub lat: f64,
    pub lng: f64,
}

impl Point {
    /// Well-known text for `ST_GeogFromText`.
    pub fn wkt(self) -> String {
        format!("SRID=4326;POINT({} {})", self.lng, self.lat)
    }
}

/// SQL selecting a geography column's point as `{prefix}_lat` and `{prefix}_lng`.
pub fn lat_lng_sql(column: &str, prefix: &str) -> String {
    format!("ST_Y({column}::geometry) AS {prefix}_lat, ST_X({column}::geometry) AS {prefix}_lng")
}

/// The point a row holds as `{prefix}_lat` and `{prefix}_lng` (see [`lat_lng_sql`]), if any.
pub fn point_at(row: &crate::db::Row, prefix: &str) -> ApiResult<Option<Point>> {
    use crate::db::RowExt;
    Ok(row
        .col::<Option<f64>>(&format!("{prefix}_lat"))?
        .zip(row.col::<Option<f64>>(&format!("{prefix}_lng"))?)
        .map(|(lat, lng)| Point { lat, lng }))
}

/// An address to place on the map.
#[derive(Debug, Clone, Copy)]
pub struct AddressQuery<'a> {
    pub street: &'a str,
    pub city: &'a str,
    pub state: &'a str,
    pub zip: Option<&'a str>,
}

crate::text_enum::text_enum! {
    /// Where a place or a distance came from.
    pub enum Source("geocode source") {
        ZipCentroid = "zip_centroid",
        CityCentroid = "city_centroid",
        Google = "google",
        /// No distance could be had: the fallback distance was used.
        Fallback = "fallback",
    }
}

/// Great-circle distance in miles.
pub fn haversine_miles(a: Point, b: Point) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = (b.lat - a.lat).to_radians();
    let dlng = (b.lng - a.lng).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_MILES * h.sqrt().asin()
}

/// Estimated road distance in hundredths of a mile.
pub fn estimated_road_hundredths(a: Point, b: Point) -> i64 {
    (haversine_miles(a, b) * ROAD_FACTOR * 100.0).round() as i64
}

/// Bay Area toll bridges: a trip between different cities where either end is in San
/// Francisco, Oakland or Marin County crosses one.
pub fn crosses_toll_bridge(
    pickup_city: &str,
    dropoff_city: &str,
    pickup_county: Option<&str>,
    dropoff_county: Option<&str>,
) -> bool {
    let norm = |s: &str| s.trim().to_lowercase();
    if norm(pickup_city) == norm(dropoff_city) {
        return false;
    }
    let tolled_city = |c: &str| matches!(norm(c).as_str(), "san francisco" | "oakland");
    let marin = |c: Option<&str>| c.is_some_and(|c| norm(c).starts_with("marin"));
    tolled_city(pickup_city)
        || tolled_city(dropoff_city)
        || marin(pickup_county)
        || marin(dropoff_county)
}

/// Opens after consecutive failures and stays open for a cool-down, so a failing
/// dependency costs one fast fallback instead of a timeout per request.
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cool_down: Duration,
    failures: AtomicU32,
    open_until: Mutex<Option<Instant>>,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            threshold,
            cool_down,
            failures: AtomicU32::new(0),
            open_until: Mutex::new(None),
        }
    }

    /// Consecutive failures since the last success (or since it last opened).
    pub fn failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }

    pub fn is_open(&self) -> bool {
        self.open_until
            .lock()
            .map(|until| until.is_some_and(|t| Instant::now() < t))
            .unwrap_or(false)
    }

    pub fn record(&self, success: bool) {
        if success {
            self.failures.store(0, Ordering::Relaxed);
            return;
        }
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= self.threshold {
            if let Ok(mut until) = self.open_until.lock() {
                *until = Some(Instant::now() + self.cool_down);
            }
            self.failures.store(0, Ordering::Relaxed);
        }
    }
}

/// Which geocoding and distance provider a deployment uses.
#[derive(Debug)]
pub enum GeoProvider {
    Offline,
    Google(GoogleMaps),
}

#[derive(Debug)]
pub struct GoogleMaps {
    pub base_url: String,
    pub secret_id: String,
    key: OnceCell<String>,
    pub breaker: CircuitBreaker,
}

impl GoogleMaps {
    pub fn new(base_url: String, secret_id: String) -> Self {
        Self {
            base_url,
            secret_id,
            key: OnceCell::new(),
            breaker: CircuitBreaker::new(5, Duration::from_secs(30)),
        }
    }

    async fn key(&self, state: &AppState) -> ApiResult<&str> {
        self.key
            .get_or_try_init(|| crate::secrets::secret_string(state, &self.secret_id))
            .await
            .map(String::as_str)
    }

    async fn get_json(
        &self,
        state: &AppState,
        path: &str,
        query: &[(&str, String)],
    ) -> Option<serde_json::Value> {
        if self.breaker.is_open() {
            return None;
        }
        let result: Result<serde_json::Value, String> = async {
            let key = self
                .key(state)
                .await
                .map_err(|e| format!("key unavailable: {}", e.message))?;
            let mut params: Vec<(&str, String)> = query.to_vec();
            params.push(("key", key.to_owned()));
            let response = state
                .http
                .get(format!("{}{path}", self.base_url))
                .query(&params)
                .timeout(GOOGLE_TIMEOUT)
                .send()
                .await
                // Without the URL: it carries the API key and the customer's address.
                .map_err(|e| {
                    format!("request failed: {}", crate::error::chain(&e.without_url()))
                })?;
            if !response.status().is_success() {
                return Err(format!("answered {}", response.status()));
            }
            let body: serde_json::Value = response
                .json()
                .await
                .map_err(|e| format!("unreadable answer: {}", e.without_url()))?;
            match body["status"].as_str() {
                Some("OK") => Ok(body),
                other => Err(format!("status {}", other.unwrap_or("missing"))),
            }
        }
        .await;
        self.breaker.record(result.is_ok());
        result
            .map_err(|reason| {
                tracing::warn!(
                    path,
                    reason,
                    "Google Maps call failed; using the offline estimate"
                )
            })
            .ok()
    }

    async fn geocode(&self, state: &AppState, address: &AddressQuery<'_>) -> Option<Point> {
        let text = format!(
            "{}, {}, {} {}",
            address.street,
            address.city,
            address.state,
            address.zip.unwrap_or("")
        );
        let body = self
            .get_json(state, "/maps/api/geocode/json", &[("address", text)])
            .await?;
        let location = &body["results"][0]["geometry"]["location"];
        Some(Point {
            lat: location["lat"].as_f64()?,
            lng: location["lng"].as_f64()?,
        })
    }

    /// Road meters and seconds from each origin to each destination, in one Distance
    /// Matrix request (at most 25 of each and 100 pairs, Google's limits); a pair Google
    /// could not route is `None`. `None` for the whole when the call failed.
    pub(crate) async fn road_matrix(
        &self,
        state: &AppState,
        origins: &[Point],
        destinations: &[Point],
    ) -> Option<Vec<Vec<Option<(f64, f64)>>>> {
        let places = |points: &[Point]| {
            points
                .iter()
                .map(|p| format!("{},{}", p.lat, p.lng))
                .collect::<Vec<_>>()
                .join("|")
        };
        let query = [
            ("origins", places(origins)),
            ("destinations", places(destinations)),
        ];
        let body = self
            .get_json(state, "/maps/api/distancematrix/json", &query)
            .await?;
        let rows = body["rows"].as_array()?;
        if rows.len() != origins.len() {
            return None;
        }
        rows.iter()
            .map(|row| {
                let elements = row["elements"].as_array()?;
                (elements.len() == destinations.len()).then(|| {
                    elements
                        .iter()
                        .map(|e| {
                            (e["status"].as_str() == Some("OK")).then_some(())?;
                            Some((
                                e["distance"]["value"].as_f64()?,
                                e["duration"]["value"].as_f64()?,
                            ))
                        })
                        .collect()
                })
            })
            .collect()
    }

    async fn driving_hundredths(&self, state: &AppState, from: Point, to: Point) -> Option<i64> {
        let query = [
            ("origins", format!("{},{}", from.lat, from.lng)),
            ("destinations", format!("{},{}", to.lat, to.lng)),
            ("units", "imperial".to_owned()),
        ];
        let body = self
            .get_json(state, "/maps/api/distancematrix/json", &query)
            .await?;
        let meters = body["rows"][0]["elements"][0]["distance"]["value"].as_f64()?;
        Some((meters / 1609.344 * 100.0).round() as i64)
    }
}

/// Places an address: the provider's answer, else the ZIP centroid, else the centroid of
/// the city's ZIP codes. `None` when nothing is known about the place.
#[tracing::instrument(skip_all)]
pub async fn geocode(
    state: &AppState,
    client: &impl GenericClient,
    address: &AddressQuery<'_>,
) -> ApiResult<Option<(Point, Source)>> {
    if let GeoProvider::Google(google) = &*state.geo {
        if let Some(point) = google.geocode(state, address).await {
            return Ok(Some((point, Source::Google)));
        }
    }
    if let Some(zip) = address.zip.map(|z| z.trim()).filter(|z| z.len() >= 5) {
        let zip5 = &zip[..5];
        if let Some(row) = client
            .query_typed_opt(
                "SELECT lat, lng FROM zip_centroids WHERE zip = $1",
                &[p(&zip5)],
            )
            .await?
        {
            return Ok(Some((
                Point {
                    lat: row.col("lat")?,
                    lng: row.col("lng")?,
                },
                Source::ZipCentroid,
            )));
        }
    }
    let row = client
        .query_typed_one(
            "SELECT avg(lat) AS lat, avg(lng) AS lng FROM zip_centroids WHERE lower(city) = lower($1) AND state = upper($2)",
            &[p(&address.city.trim()), p(&address.state.trim())],
        )
        .await?;
    Ok(
        match (
            row.col::<Option<f64>>("lat")?,
            row.col::<Option<f64>>("lng")?,
        ) {
            (Some(lat), Some(lng)) => Some((Point { lat, lng }, Source::CityCentroid)),
            _ => None,
        },
    )
}

/// Driving distance between two places, in hundredths of a mile.
#[tracing::instrument(skip(state))]
pub async fn driving_distance(state: &AppState, from: Point, to: Point) -> (i64, Source) {
    if let GeoProvider::Google(google) = &*state.geo {
        if let Some(hundredths) = google.driving_hundredths(state, from, to).await {
            return (hundredths, Source::Google);
        }
    }
    (estimated_road_hundredths(from, to), Source::ZipCentroid)
}

/// When no distance can be had: a little over the usual 10-mile threshold, and the order
/// is flagged for manual review.
pub const FALLBACK_DISTANCE_HUNDREDTHS: i64 = 1010;

/// The driving distance between two places, or [`FALLBACK_DISTANCE_HUNDREDTHS`] and a flag
/// for manual review when either place is unknown.
pub async fn route_distance(
    state: &AppState,
    from: Option<Point>,
    to: Option<Point>,
) -> (i64, bool) {
    match (from, to) {
        (Some(from), Some(to)) => (driving_distance(state, from, to).await.0, false),
        _ => (FALLBACK_DISTANCE_HUNDREDTHS, true),
    }
}

/// The coordinates of a stored address, if it has them.
pub async fn address_point(
    client: &impl GenericClient,
    address_id: uuid::Uuid,
) -> ApiResult<Option<Point>> {
    let row = client
        .query_typed_opt(
            "SELECT ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lng FROM addresses WHERE id = $1",
            &[p(&address_id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("address"))?;
    Ok(
        match (
            row.col::<Option<f64>>("lat")?,
            row.col::<Option<f64>>("lng")?,
        ) {
            (Some(lat), Some(lng)) => Some(Point { lat, lng }),
            _ => None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        let sf = Point {
            lat: 37.7749,
            lng: -122.4194,
        };
        let sj = Point {
            lat: 37.3382,
            lng: -121.8863,
        };
        let miles = haversine_miles(sf, sj);
        assert!((miles - 42.2).abs() < 0.5, "{miles}");
        assert_eq!(estimated_road_hundredths(sf, sf), 0);
        assert_eq!(
            estimated_road_hundredths(sf, sj),
            (miles * 1.35 * 100.0).round() as i64
        );
    }

    #[test]
    fn breaker_opens_after_the_threshold_and_resets_on_success() {
        let breaker = CircuitBreaker::new(2, Duration::from_millis(50));
        breaker.record(false);
        assert!(!breaker.is_open());
        breaker.record(true);
        breaker.record(false);
        assert!(!breaker.is_open(), "a success resets the count");
        breaker.record(false);
        assert!(breaker.is_open());
        std::thread::sleep(Duration::from_millis(60));
        assert!(!breaker.is_open(), "closes after the cool-down");
    }

    #[test]
    fn wkt_is_longitude_first() {
        assert_eq!(
            Point {
                lat: 37.5,
                lng: -122.25
            }
            .wkt(),
            "SRID=4326;POINT(-122.25 37.5)"
        );
    }
}
