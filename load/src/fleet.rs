//! The drivers' side under load: a fleet of drivers on shift reporting where they are
//! (one point or a batch of 50 per request) and staff asking for the nearest drivers, as
//! a [`Target`] of the open-loop runner; and the database the benchmark measures them
//! on: 100 000 drivers (10 % on shift) with millions of recorded points.
//!
//! Drivers sign up through the API as DRIVER accounts, are approved in the database (as
//! staff approve them) and start a shift; staff accounts cannot sign up, so the tool
//! creates them in the database. Both sign in through the API, so the tool needs the
//! stack's `DATABASE_URL`. Each identity has a loopback source address of its own
//! (sign-up and sign-in are limited per address), and there are enough accounts that
//! each stays inside its budget: 30 location reports and 100 other requests a minute.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::{
    run::Target,
    traffic::{next_source_address, outcome, Route},
    LoadError,
};

const PASSWORD: &str = "fleet-password-1";
/// Points of a batch report.
pub const BATCH_POINTS: usize = 50;
/// Where the seeded drivers are: the Bay Area, roughly.
const AREA: (f64, f64, f64, f64) = (37.2, 38.0, -122.6, -121.8);

/// A driver of the fleet and where it is: its own clock runs in 20 ms steps, so
/// successive reports never repeat an instant or imply a jump.
struct Driver {
    id: uuid::Uuid,
    token: String,
    client: reqwest::Client,
    track: Mutex<(f64, f64, chrono::DateTime<chrono::Utc>)>,
}

/// Signed-in drivers on shift and staff accounts, ready to send.
pub struct Fleet {
    base_url: String,
    drivers: Vec<Driver>,
    staff: Vec<(String, reqwest::Client)>,
    /// Where on-demand orders are placed (see [`Fleet::place_orders_at`]).
    order_places: std::sync::OnceLock<Vec<OrderPlace>>,
}

/// A zip code the offline geocoder places at its centroid, and the nearest other one.
#[derive(Debug, Clone)]
pub struct OrderPlace {
    pub zip: String,
    pub city: String,
    pub next_zip: String,
    pub next_city: String,
}

/// A client of its own loopback address, so each identity's sign-up and sign-in are
/// counted apart from every other's.
fn client() -> Result<reqwest::Client, LoadError> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(64)
        .local_address(next_source_address())
        .build()?)
}

async fn post_json(
    client: &reqwest::Client,
    url: String,
    body: Value,
    token: Option<&str>,
) -> Result<Value, LoadError> {
    let mut request = client.post(&url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(LoadError::Setup(format!("{url} answered {status}: {body}")));
    }
    Ok(body)
}

async fn sign_in(base: &str, client: &reqwest::Client, email: &str) -> Result<String, LoadError> {
    let body = post_json(
        client,
        format!("{base}/api/auth/login"),
        json!({ "email": email, "password": PASSWORD }),
        None,
    )
    .await?;
    body["accessToken"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| LoadError::Setup("sign-in answered no access token".into()))
}

/// The load tool's own database connections are named, so the production gate counts
/// only the API's (it leaves out every `load-` name).
const OWN_CONNECTIONS: &str = "load-tool";

/// A connection to the stack's database under the load tool's own name.
pub(crate) async fn connect(database_url: &str) -> Result<tokio_postgres::Client, LoadError> {
    let mut config: tokio_postgres::Config = database_url
        .parse()
        .map_err(|e| LoadError::Setup(format!("DATABASE_URL: {e}")))?;
    config.application_name(OWN_CONNECTIONS);
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| LoadError::Setup(format!("database: {e}")))?;
    tokio::spawn(connection);
    Ok(client)
}

/// Drivers enlisted concurrently, each signing up, being approved, signing in and
/// starting a shift.
const ENLIST_AT_ONCE: usize = 8;

impl Fleet {
    /// Signs up `drivers` drivers, approves them (in the database, as staff would: a
    /// driver's sign-up waits for approval) and starts their shifts, eight at a time; then
    /// creates and signs in `staff` staff accounts.
    pub async fn create(
        base_url: &str,
        database_url: &str,
        drivers: usize,
        staff: usize,
    ) -> Result<Self, LoadError> {
        let base = base_url.trim_end_matches('/').to_owned();
        // Names this run's accounts, so a second run signs up new ones.
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let started = Instant::now();
        let db = connect(database_url).await?;
        let on_shift = enlist_drivers(&base, &db, &run, drivers, started).await?;
        let staff_accounts = sign_in_staff(&base, &db, &run, staff).await?;
        eprintln!(
            "fleet ready: {drivers} drivers on shift, {staff} staff ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
        Ok(Self {
            base_url: base,
            drivers: on_shift,
            staff: staff_accounts,
            order_places: std::sync::OnceLock::new(),
        })
    }

    /// Gives every driver an order to carry, eight drivers at a time: staff place an
    /// on-demand order at one of `places` and assign it to the driver, who reports it
    /// picked up. From then on each of the driver's reports times the delivery's drop
    /// (its ETA), checks it for a delay and the driver for arrival, as a working driver's
    /// do. Orders whose drop is far from their driver are predicted late: their delay is
    /// recorded once, as in service.
    pub async fn carry_orders(&self, places: &[OrderPlace]) -> Result<(), LoadError> {
        if places.is_empty() || self.staff.is_empty() {
            return Err(LoadError::Setup(
                "carrying orders needs places to order at and staff to dispatch".into(),
            ));
        }
        let started = Instant::now();
        let all: Vec<usize> = (0..self.drivers.len()).collect();
        for (done, batch) in all.chunks(ENLIST_AT_ONCE).enumerate() {
            let carried = futures_util::future::join_all(
                batch
                    .iter()
                    .map(|&i| self.carry_order(i, &places[i % places.len()])),
            )
            .await;
            for result in carried {
                result?;
            }
            let count = (done + 1) * ENLIST_AT_ONCE;
            if count % 200 == 0 {
                eprintln!(
                    "  {count} of {} drivers carrying an order ({:.0} s)",
                    self.drivers.len(),
                    started.elapsed().as_secs_f64()
                );
            }
        }
        eprintln!(
            "every driver carries an order ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// The fleet's driver records.
    pub fn driver_ids(&self) -> Vec<uuid::Uuid> {
        self.drivers.iter().map(|d| d.id).collect()
    }

    /// Driver `i` picks up an on-demand order at `place`, placed and assigned by staff.
    async fn carry_order(&self, i: usize, place: &OrderPlace) -> Result<(), LoadError> {
        let url = |path: &str| format!("{}{path}", self.base_url);
        let (token, client) = &self.staff[i % self.staff.len()];
        let created = post_json(
            client,
            url("/api/on-demand/create"),
            on_demand_order(i as u64, place),
            Some(token),
        )
        .await?;
        let order = created.get("order").unwrap_or(&created);
        let (Some(order_id), Some(number)) = (order["id"].as_str(), order["orderNumber"].as_str())
        else {
            return Err(LoadError::Setup(format!(
                "an on-demand create answered no order: {created}"
            )));
        };
        let driver = &self.drivers[i];
        post_json(
            client,
            url("/api/orders/assignDriver"),
            json!({ "orderId": order_id, "driverId": driver.id }),
            Some(token),
        )
        .await?;
        let picked = driver
            .client
            .patch(url(&format!("/api/orders/{number}")))
            .bearer_auth(&driver.token)
            .json(&json!({ "driverStatus": "PICKED_UP" }))
            .send()
            .await?;
        if !picked.status().is_success() {
            return Err(LoadError::Setup(format!(
                "a driver's pickup of {number} answered {}",
                picked.status()
            )));
        }
        Ok(())
    }

    /// Places the fleet's on-demand orders at these zip codes, each delivered to the
    /// nearest other one (the first call wins).
    pub fn place_orders_at(&self, places: Vec<OrderPlace>) {
        let _ = self.order_places.set(places);
    }

    /// The next `count` points of driver `i`, 20 ms and about a metre apart.
    fn next_points(&self, i: usize, count: usize) -> Vec<Value> {
        let driver = &self.drivers[i];
        let Ok(mut track) = driver.track.lock() else {
            return Vec::new();
        };
        (0..count)
            .map(|_| {
                track.0 += 0.00001;
                track.2 += chrono::Duration::milliseconds(20);
                json!({
                    "latitude": track.0, "longitude": track.1, "accuracy": 5, "speed": 0.5,
                    "heading": 0, "batteryLevel": 80, "isMoving": true, "recordedAt": track.2,
                })
            })
            .collect()
    }

    async fn send_as(&self, n: u64, route: Route) -> Result<(), String> {
        let url = |path: &str| format!("{}{path}", self.base_url);
        match route {
            Route::NearestDrivers => {
                let (token, client) = &self.staff[(n as usize) % self.staff.len().max(1)];
                let (lat, lng) = spot(n.wrapping_mul(7919));
                outcome(
                    client
                        .get(url(&format!(
                            "/api/tracking/drivers?lat={lat:.5}&lng={lng:.5}&radiusM=10000&limit=10"
                        )))
                        .bearer_auth(token),
                )
                .await
            }
            Route::LocationPoint | Route::LocationBatch => {
                let i = (n as usize) % self.drivers.len().max(1);
                let count = if route == Route::LocationBatch {
                    BATCH_POINTS
                } else {
                    1
                };
                let points = self.next_points(i, count);
                let body = if count == 1 {
                    points.into_iter().next().unwrap_or(Value::Null)
                } else {
                    json!({ "locations": points })
                };
                let driver = &self.drivers[i];
                outcome(
                    driver
                        .client
                        .post(url("/api/tracking/locations"))
                        .bearer_auth(&driver.token)
                        .json(&body),
                )
                .await
            }
            Route::OnDemandOffered => {
                let places = self.order_places.get().map_or(&[][..], Vec::as_slice);
                let Some(place) = places.get((n.wrapping_mul(7919) as usize) % places.len().max(1))
                else {
                    return Err("no places to order at".to_owned());
                };
                let (token, client) = &self.staff[(n as usize) % self.staff.len().max(1)];
                outcome(
                    client
                        .post(url("/api/on-demand/create"))
                        .bearer_auth(token)
                        .json(&on_demand_order(n, place)),
                )
                .await
            }
            _ => Err("not a fleet route".to_owned()),
        }
    }
}

/// Enlists drivers `0..count` of run `run`, [`ENLIST_AT_ONCE`] at a time, with a progress
/// line every 200.
async fn enlist_drivers(
    base: &str,
    db: &tokio_postgres::Client,
    run: &str,
    count: usize,
    started: Instant,
) -> Result<Vec<Driver>, LoadError> {
    let mut fleet = Vec::with_capacity(count);
    for batch in (0..count).collect::<Vec<_>>().chunks(ENLIST_AT_ONCE) {
        let enlisted =
            futures_util::future::join_all(batch.iter().map(|&i| enlist_driver(base, db, run, i)))
                .await;
        for driver in enlisted {
            fleet.push(driver?);
        }
        if fleet.len() % 200 == 0 {
            eprintln!(
                "  {} of {count} drivers on shift ({:.0} s)",
                fleet.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(fleet)
}

/// Driver `i` of run `run`, as a driver becomes one: signs up, is approved (in the
/// database, as staff would), signs in and starts a shift at its spot of the area.
async fn enlist_driver(
    base: &str,
    db: &tokio_postgres::Client,
    run: &str,
    i: usize,
) -> Result<Driver, LoadError> {
    let email = format!("fleet-{run}-{i}@example.com");
    let client = client()?;
    post_json(
        &client,
        format!("{base}/api/auth/signup"),
        json!({ "email": email, "password": PASSWORD, "role": "DRIVER", "name": format!("Fleet Driver {i}") }),
        None,
    )
    .await?;
    db.execute(
        "UPDATE users SET status = 'ACTIVE' WHERE email = $1",
        &[&email],
    )
    .await
    .map_err(|e| LoadError::Setup(format!("approving a driver: {e}")))?;
    let token = sign_in(base, &client, &email).await?;
    let (lat, lng) = spot(i as u64);
    post_json(
        &client,
        format!("{base}/api/tracking/shifts/start"),
        json!({ "location": { "coordinates": { "lat": lat, "lng": lng } } }),
        Some(&token),
    )
    .await?;
    // The driver's track runs 30 minutes behind the clock (so a fast run's points never
    // pass into the future). Its shift start, which placed it now, is set back before
    // the track begins: each report of the run is then the driver's newest news, timed
    // and checked for arrival as a working driver's are, not a late batch.
    let id: uuid::Uuid = db
        .query_one(
            "UPDATE drivers SET last_location_update = now() - interval '31 minutes'
              WHERE user_id = (SELECT id FROM users WHERE email = $1) RETURNING id",
            &[&email],
        )
        .await
        .map_err(|e| LoadError::Setup(format!("setting a driver's track back: {e}")))?
        .get(0);
    Ok(Driver {
        id,
        token,
        client,
        // Behind now, so a run's reports stay in the past.
        track: Mutex::new((lat, lng, chrono::Utc::now() - chrono::Duration::minutes(30))),
    })
}

/// Creates `count` staff accounts of run `run` in the database (staff cannot sign up)
/// and signs each in.
async fn sign_in_staff(
    base: &str,
    db: &tokio_postgres::Client,
    run: &str,
    count: usize,
) -> Result<Vec<(String, reqwest::Client)>, LoadError> {
    let hash = shared::auth::passwords::hash(PASSWORD)
        .await
        .map_err(|e| LoadError::Setup(e.to_string()))?;
    let mut accounts = Vec::with_capacity(count);
    for i in 0..count {
        let email = format!("fleet-staff-{run}-{i}@example.com");
        db.execute(
            "INSERT INTO users (email, password_hash, role, status, name)
             VALUES ($1, $2, 'HELPDESK', 'ACTIVE', 'Fleet Dispatcher')",
            &[&email, &hash],
        )
        .await
        .map_err(|e| LoadError::Setup(format!("staff account: {e}")))?;
        let client = client()?;
        let token = sign_in(base, &client, &email).await?;
        accounts.push((token, client));
    }
    Ok(accounts)
}

impl Target for Fleet {
    fn send(
        &self,
        n: u64,
        route: Route,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send {
        self.send_as(n, route)
    }
}

/// On-demand order `n` from `place` to its neighbour: picked up in 20 minutes and
/// delivered within the hour after.
pub fn on_demand_order(n: u64, place: &OrderPlace) -> Value {
    let pickup = chrono::Utc::now() + chrono::Duration::minutes(20);
    json!({
        "pickupAddress": { "name": "Bench Kitchen", "street1": format!("{} Main St", 100 + n % 900), "city": place.city, "state": "CA", "zip": place.zip },
        "deliveryAddress": { "name": "Bench Office", "street1": format!("{} Market St", 100 + n % 700), "city": place.next_city, "state": "CA", "zip": place.next_zip },
        "pickupDateTime": pickup,
        "arrivalDateTime": pickup + chrono::Duration::minutes(60),
        "itemDelivered": "Lunch boxes",
        "vehicleType": "CAR",
        "orderTotal": 80.5,
    })
}

/// The zip codes of the area (as the offline geocoder knows them), each with its nearest
/// other one: where the benchmark's orders are placed, spread like its drivers.
pub async fn order_places(db: &tokio_postgres::Client) -> Result<Vec<OrderPlace>, LoadError> {
    let rows = db
        .query(
            "SELECT z.zip, z.city, n.zip AS next_zip, n.city AS next_city
               FROM zip_centroids z
               JOIN LATERAL (SELECT o.zip, o.city FROM zip_centroids o
                              WHERE o.zip <> z.zip AND o.state = 'CA'
                              ORDER BY (o.lat - z.lat) ^ 2 + (o.lng - z.lng) ^ 2 LIMIT 1) n ON true
              WHERE z.state = 'CA' AND z.lat BETWEEN $1 AND $2 AND z.lng BETWEEN $3 AND $4
              ORDER BY z.zip",
            &[&AREA.0, &AREA.1, &AREA.2, &AREA.3],
        )
        .await
        .map_err(failed("reading the area's zip codes"))?;
    Ok(rows
        .iter()
        .map(|r| OrderPlace {
            zip: r.get(0),
            city: r.get(1),
            next_zip: r.get(2),
            next_city: r.get(3),
        })
        .collect())
}

/// A point of the area for `n`, spread evenly (a low-discrepancy sequence).
pub fn spot(n: u64) -> (f64, f64) {
    let a = (n as f64 * 0.618_033_988_75).fract();
    let b = (n as f64 * 0.754_877_666_25).fract();
    (
        AREA.0 + a * (AREA.1 - AREA.0),
        AREA.2 + b * (AREA.3 - AREA.2),
    )
}

/// Seeds `drivers` drivers (a tenth of them on shift, at random places in the area) and
/// `points` recorded points spread over the on-shift drivers' last days, showing progress.
pub async fn seed(db: &tokio_postgres::Client, drivers: u64, points: u64) -> Result<(), LoadError> {
    let started = Instant::now();
    seed_drivers(db, drivers).await?;
    eprintln!(
        "  {drivers} drivers seeded ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    seed_points(db, points, started).await?;
    settle(db).await?;
    eprintln!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// What a seeding statement was doing when it failed.
fn failed(what: &'static str) -> impl Fn(tokio_postgres::Error) -> LoadError {
    move |e| LoadError::Setup(format!("{what}: {e}"))
}

/// Active drivers at random places in the area, a tenth of them on duty with a shift
/// started six days ago, in two statements.
async fn seed_drivers(db: &tokio_postgres::Client, drivers: u64) -> Result<(), LoadError> {
    let drivers = i64::try_from(drivers).unwrap_or(i64::MAX);
    db.execute(
        "WITH u AS (
            INSERT INTO users (email, role, status, name)
            SELECT 'seed-driver-' || n || '@bench.local', 'DRIVER', 'ACTIVE', 'Seed Driver ' || n
              FROM generate_series(1, $1::int8) n RETURNING id)
         INSERT INTO drivers (user_id, is_active, is_on_duty, last_known_location, last_location_update)
         SELECT id, true, random() < 0.1,
                ST_SetSRID(ST_MakePoint(-122.6 + random() * 0.8, 37.2 + random() * 0.8), 4326)::geography, now()
           FROM u",
        &[&drivers],
    )
    .await
    .map_err(failed("seeding drivers"))?;
    db.execute(
        "INSERT INTO driver_shifts (driver_id, start_time)
         SELECT id, now() - interval '6 days' FROM drivers WHERE is_on_duty",
        &[],
    )
    .await
    .map_err(failed("seeding shifts"))?;
    Ok(())
}

/// About `points` points shared by the active shifts, evenly over their six days and a
/// step apart; the partitions of the last and next week are made first.
async fn seed_points(
    db: &tokio_postgres::Client,
    points: u64,
    started: Instant,
) -> Result<(), LoadError> {
    db.execute(
        "SELECT driver_locations_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 7, (now() AT TIME ZONE 'UTC')::date + 7)",
        &[],
    )
    .await
    .map_err(failed("partitions"))?;
    let on_shift: i64 = db
        .query_one(
            "SELECT count(*) FROM driver_shifts WHERE status = 'active'",
            &[],
        )
        .await
        .map_err(failed("counting shifts"))?
        .get(0);
    let per_driver = (points as i64 / on_shift.max(1)).max(1);
    // Chunks of drivers, so progress shows and no statement runs for minutes.
    let chunks = 20i64;
    let mut done = 0i64;
    for chunk in 0..chunks {
        let inserted = db
            .execute(
                "INSERT INTO driver_locations (driver_id, shift_id, location, speed_mps, recorded_at)
                 SELECT s.driver_id, s.id,
                        ST_SetSRID(ST_MakePoint(ST_X(d.last_known_location::geometry) + k * 0.000001,
                                                ST_Y(d.last_known_location::geometry)), 4326)::geography,
                        5, now() - interval '6 days' + k * (interval '6 days' / $1::int8)
                   FROM driver_shifts s JOIN drivers d ON d.id = s.driver_id,
                        generate_series(1, $1::int8) k
                  WHERE s.status = 'active' AND abs(hashtext(s.id::text)) % $2::int8 = $3::int8",
                &[&per_driver, &chunks, &chunk],
            )
            .await
            .map_err(failed("seeding points"))?;
        done += inserted as i64;
        eprintln!(
            "  points {done} of about {} ({:.0}%, {:.0} s)",
            per_driver * on_shift,
            100.0 * (chunk + 1) as f64 / chunks as f64,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Leaves the seeded tables as a running database would have them: statistics up to
/// date and the bulk load written out.
async fn settle(db: &tokio_postgres::Client) -> Result<(), LoadError> {
    // One statement each: VACUUM cannot run inside the transaction a batch would be.
    for table in ["drivers", "driver_shifts", "driver_locations"] {
        db.batch_execute(&format!("VACUUM ANALYZE {table}"))
            .await
            .map_err(failed("vacuum"))?;
    }
    // The seed's dirty pages are written now, not by a checkpoint in the middle of a
    // measured phase: the phases measure steady ingest, not the bulk load's write-back.
    db.batch_execute("CHECKPOINT")
        .await
        .map_err(failed("checkpoint"))?;
    Ok(())
}
