//! What the load tool sends: the identities it signs up for itself, and the mix of
//! requests they make (sign-in, order lists and creates, partner drafts, pricing, health).

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
    time::Duration,
};

use serde_json::{json, Value};

use crate::{run::Target, LoadError};

/// Sign-ups allowed per client IP and minute: identities are spread over loopback
/// addresses so that creating them does not trip the API's own budget.
const SIGNUPS_PER_ADDRESS: usize = 5;
const PASSWORD: &str = "load-test-password-1";
/// Drafts the partner sends per minute: under its route budget of 100.
const PARTNER_DRAFTS_PER_MINUTE: u64 = 90;

/// One request kind of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    UserOrders,
    Orders,
    CurrentUser,
    Health,
    Pricing,
    CreateOrder,
    PartnerDraft,
    Login,
    /// The baseline server's one query (not part of the API's mix).
    Baseline,
    /// Staff asking for the nearest available drivers (the fleet's routes, not the mix).
    NearestDrivers,
    /// A driver reporting one point.
    LocationPoint,
    /// A driver reporting a batch of points.
    LocationBatch,
    /// Staff placing an on-demand order with auto-dispatch on: the answer comes once the
    /// order is offered to its first driver.
    OnDemandOffered,
}

impl Route {
    pub const ALL: [Route; 8] = [
        Route::UserOrders,
        Route::Orders,
        Route::CurrentUser,
        Route::Health,
        Route::Pricing,
        Route::CreateOrder,
        Route::PartnerDraft,
        Route::Login,
    ];

    /// The route key as the API documents it.
    pub fn key(self) -> &'static str {
        match self {
            Route::UserOrders => "GET /api/user-orders",
            Route::Orders => "GET /api/orders",
            Route::CurrentUser => "GET /api/auth/current-user",
            Route::Health => "GET /api/health",
            Route::Pricing => "POST /api/pricing/calculate",
            Route::CreateOrder => "POST /api/catering-requests",
            Route::PartnerDraft => "POST /api/partners/orders/draft",
            Route::Login => "POST /api/auth/login",
            Route::Baseline => "GET /baseline (hyper + one query)",
            Route::NearestDrivers => "GET /api/tracking/drivers?lat&lng",
            Route::LocationPoint => "POST /api/tracking/locations (1 point)",
            Route::LocationBatch => "POST /api/tracking/locations (50 points)",
            Route::OnDemandOffered => "POST /api/on-demand/create (offered to a driver)",
        }
    }

    /// Its name on the command line (`--only user-orders`).
    pub fn name(self) -> &'static str {
        match self {
            Route::UserOrders => "user-orders",
            Route::Orders => "orders",
            Route::CurrentUser => "current-user",
            Route::Health => "health",
            Route::Pricing => "pricing",
            Route::CreateOrder => "create-order",
            Route::PartnerDraft => "partner-draft",
            Route::Login => "login",
            Route::Baseline => "baseline",
            Route::NearestDrivers => "nearest-drivers",
            Route::LocationPoint => "location-point",
            Route::LocationBatch => "location-batch",
            Route::OnDemandOffered => "on-demand-offered",
        }
    }

    /// Whether the route writes (its goal is the write latency).
    pub fn writes(self) -> bool {
        matches!(
            self,
            Route::Pricing
                | Route::CreateOrder
                | Route::PartnerDraft
                | Route::Login
                | Route::LocationPoint
                | Route::LocationBatch
                | Route::OnDemandOffered
        )
    }

    /// Its share of the mixed traffic, in percent. Partner drafts are few: one partner
    /// key has a budget of 100 a minute per route.
    fn weight(self) -> usize {
        match self {
            Route::UserOrders => 35,
            Route::Orders => 15,
            Route::CurrentUser => 15,
            Route::Health => 5,
            Route::Pricing => 12,
            Route::CreateOrder => 15,
            Route::PartnerDraft => 1,
            Route::Login => 2,
            Route::Baseline
            | Route::NearestDrivers
            | Route::LocationPoint
            | Route::LocationBatch
            | Route::OnDemandOffered => 0,
        }
    }
}

/// The order routes are picked in, spreading each route's share evenly over every 100
/// requests (no randomness: two runs send the same traffic).
pub fn mix(only: Option<Route>) -> Vec<Route> {
    if let Some(route) = only {
        return vec![route];
    }
    let mut slots: Vec<(f64, Route)> = Vec::new();
    for route in Route::ALL {
        let weight = route.weight();
        for i in 0..weight {
            slots.push(((i as f64 + 0.5) / weight as f64, route));
        }
    }
    slots.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    slots.into_iter().map(|(_, route)| route).collect()
}

/// A signed-in account of the load run and the client (source address) it sends from.
#[derive(Debug, Clone)]
pub struct Identity {
    pub email: String,
    pub token: String,
    pub client: reqwest::Client,
}

/// The partner whose key drafts are sent with.
#[derive(Debug, Clone)]
pub struct PartnerKey {
    pub slug: String,
    pub key: String,
}

/// Everything the mixed traffic needs: identities, the partner, the base URL.
pub struct Population {
    pub base_url: String,
    pub identities: Vec<Identity>,
    pub partner: PartnerKey,
    /// When the partner's current minute began, and the drafts sent in it.
    drafts: std::sync::Mutex<(std::time::Instant, u64)>,
    counter: AtomicU64,
    run: String,
}

fn client(source: Option<IpAddr>) -> Result<reqwest::Client, LoadError> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(256)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(ip) = source {
        builder = builder.local_address(ip);
    }
    Ok(builder.build()?)
}

/// A loopback source address no other identity of this process has had: sign-up and
/// sign-in are limited per address and minute, so two groups of identities created in
/// the same minute (the mixed traffic's and a ramp's, a fleet's and the gate's) must not
/// share one. 127.0.0.1 is left to the target; then 127.0.0.2 to 127.0.0.251, then the
/// same in 127.0.1.x and on, 62 500 addresses before any repeats.
pub fn next_source_address() -> IpAddr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % (250 * 250);
    let block = u8::try_from(n / 250).unwrap_or(0);
    let host = u8::try_from(2 + n % 250).unwrap_or(2);
    IpAddr::V4(Ipv4Addr::new(127, 0, block, host))
}

/// Whether requests to `base_url` may come from other loopback addresses.
pub fn is_loopback(base_url: &str) -> bool {
    let host = base_url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host == "127.0.0.1" || host == "localhost"
}

impl Population {
    /// Signs up and signs in `count` accounts, eight at a time, spread over loopback
    /// source addresses when the target is local.
    pub async fn create(
        base_url: &str,
        count: usize,
        partner: PartnerKey,
    ) -> Result<Self, LoadError> {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let many_addresses = is_loopback(base_url);
        let mut clients = Vec::new();
        for _ in 0..count.div_ceil(SIGNUPS_PER_ADDRESS).max(1) {
            let source = many_addresses.then(next_source_address);
            clients.push(client(source)?);
        }
        let mut identities = Vec::with_capacity(count);
        for batch in (0..count).collect::<Vec<_>>().chunks(8) {
            let made = futures_util::future::join_all(batch.iter().map(|&i| {
                let client = clients[i / SIGNUPS_PER_ADDRESS].clone();
                let email = format!("load-{run}-{i}@example.com");
                sign_up(base_url.to_owned(), client, email)
            }))
            .await;
            for identity in made {
                identities.push(identity?);
            }
        }
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            identities,
            partner,
            drafts: std::sync::Mutex::new((std::time::Instant::now(), 0)),
            counter: AtomicU64::new(0),
            run,
        })
    }

    /// Whether the partner may send another draft in this minute.
    fn take_draft(&self) -> bool {
        let Ok(mut minute) = self.drafts.lock() else {
            return false;
        };
        if minute.0.elapsed() >= Duration::from_secs(60) {
            *minute = (std::time::Instant::now(), 0);
        }
        let spare = minute.1 < PARTNER_DRAFTS_PER_MINUTE;
        if spare {
            minute.1 += 1;
        }
        spare
    }

    /// Sends request number `n` of the mix as `route`.
    async fn send_as(&self, n: u64, route: Route) -> Result<(), String> {
        let identity = &self.identities[spread(n, self.identities.len())];
        let url = |path: &str| format!("{}{path}", self.base_url);
        let client = &identity.client;
        let request = match route {
            Route::UserOrders => client
                .get(url("/api/user-orders?limit=20"))
                .bearer_auth(&identity.token),
            Route::Orders => client
                .get(url("/api/orders?limit=20"))
                .bearer_auth(&identity.token),
            Route::CurrentUser => client
                .get(url("/api/auth/current-user"))
                .bearer_auth(&identity.token),
            Route::Health => client.get(url("/api/health")),
            Route::Pricing => client
                .post(url("/api/pricing/calculate"))
                .bearer_auth(&identity.token)
                .json(&json!({ "headCount": 10 + n % 90, "foodCost": 150 + n % 900, "distance": (n % 30) as f64 / 2.0 })),
            Route::CreateOrder => client
                .post(url("/api/catering-requests"))
                .bearer_auth(&identity.token)
                .header("idempotency-key", format!("load-{}-{n}", self.run))
                .json(&catering_order(n)),
            Route::PartnerDraft => {
                if !self.take_draft() {
                    // The partner's budget is spent: a read takes its place.
                    return Box::pin(self.send_as(n, Route::CurrentUser)).await;
                }
                let code = self.counter.fetch_add(1, Ordering::Relaxed);
                client
                    .post(url("/api/partners/orders/draft"))
                    .header("partner", &self.partner.slug)
                    .header("x-api-key", &self.partner.key)
                    .json(&partner_draft(&format!("L{}-{code}", self.run)))
            }
            Route::Baseline
            | Route::NearestDrivers
            | Route::LocationPoint
            | Route::LocationBatch
            | Route::OnDemandOffered => return Err("not a route of the mix".to_owned()),
            Route::Login => client
                .post(url("/api/auth/login"))
                .json(&json!({ "email": identity.email, "password": PASSWORD })),
        };
        outcome(request).await
    }
}

impl Target for Population {
    fn send(
        &self,
        n: u64,
        route: Route,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send {
        self.send_as(n, route)
    }
}

/// Sends `request` and reads its whole answer (the request is done when its body is).
pub async fn outcome(request: reqwest::RequestBuilder) -> Result<(), String> {
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            "timed out".to_owned()
        } else {
            "connection failed".to_owned()
        }
    })?;
    let status = response.status();
    let _ = response.bytes().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(status.as_u16().to_string())
    }
}

/// Which of `len` identities sends request `n`. A hash rather than `n % len`: with the
/// mix repeating every 100 requests, `n % len` would give each identity one route only
/// (the same few accounts would send every sign-in and trip its per-account limit).
fn spread(n: u64, len: usize) -> usize {
    // SplitMix64's finaliser: cheap, deterministic, well mixed.
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % len.max(1) as u64) as usize
}

async fn sign_up(
    base_url: String,
    client: reqwest::Client,
    email: String,
) -> Result<Identity, LoadError> {
    let base = base_url.trim_end_matches('/');
    let signed_up = client
        .post(format!("{base}/api/auth/signup"))
        .json(
            &json!({ "email": email, "password": PASSWORD, "role": "CLIENT", "name": "Load Test" }),
        )
        .send()
        .await?;
    if !signed_up.status().is_success() {
        return Err(LoadError::Setup(format!(
            "sign-up of {email} answered {}",
            signed_up.status()
        )));
    }
    let logged_in = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await?;
    if !logged_in.status().is_success() {
        return Err(LoadError::Setup(format!(
            "sign-in of {email} answered {}",
            logged_in.status()
        )));
    }
    let body: Value = logged_in.json().await?;
    let token = body["accessToken"]
        .as_str()
        .ok_or_else(|| LoadError::Setup("sign-in answered no access token".into()))?
        .to_owned();
    Ok(Identity {
        email,
        token,
        client,
    })
}

fn catering_order(n: u64) -> Value {
    let pickup = chrono::Utc::now() + chrono::Duration::days(1 + (n % 20) as i64);
    json!({
        "pickupAddress": { "name": "Taqueria Vic", "street1": "100 S 1st St", "city": "San Jose", "state": "CA", "zip": "95113" },
        "deliveryAddress": { "name": "Acme", "street1": "2 N Market St", "city": "Santa Clara", "state": "CA", "zip": "95050" },
        "pickupDateTime": pickup,
        "arrivalDateTime": pickup + chrono::Duration::minutes(45),
        "headcount": 10 + n % 200,
        "needHost": "NO",
        "orderTotal": 350.25,
        "clientAttention": "Front desk",
    })
}

fn partner_draft(code: &str) -> Value {
    let day = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    json!({
        "orderCode": code, "deliveryDate": day, "deliveryTime": "12:00", "totalItem": 26, "priceTotal": 350,
        "pickupLocation": { "name": "Vic", "address": "100 S 1st St", "city": "San Jose", "state": "CA", "zip": "95113" },
        "dropOffLocation": { "name": "Acme", "address": "2 N Market St", "city": "San Jose", "state": "CA", "zip": "95113",
                             "recipient": { "name": "Casey", "phone": "4155550102" } }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_gives_each_route_its_share() {
        let mix = mix(None);
        assert_eq!(mix.len(), 100);
        for route in Route::ALL {
            assert_eq!(
                mix.iter().filter(|r| **r == route).count(),
                route.weight(),
                "{route:?}"
            );
        }
        // Spread out, not in runs: the first ten requests touch several routes.
        let first: std::collections::BTreeSet<_> = mix[..10].iter().collect();
        assert!(first.len() >= 4, "{first:?}");
    }

    #[test]
    fn every_identity_sends_every_kind_of_request() {
        let mix = mix(None);
        let login_senders: std::collections::BTreeSet<usize> = (0..10_000u64)
            .filter(|n| mix[(*n as usize) % mix.len()] == Route::Login)
            .map(|n| spread(n, 300))
            .collect();
        // 200 sign-ins over 300 accounts: most accounts get one, none gets many.
        assert!(login_senders.len() > 100, "{}", login_senders.len());
        let mut per_identity = vec![0u32; 300];
        for n in 0..30_000u64 {
            per_identity[spread(n, 300)] += 1;
        }
        let (min, max) = (per_identity.iter().min(), per_identity.iter().max());
        assert!(min >= Some(&60) && max <= Some(&140), "{min:?}..{max:?}");
    }

    #[test]
    fn only_loopback_targets_spread_source_addresses() {
        assert!(is_loopback("http://127.0.0.1:3000"));
        assert!(is_loopback("http://localhost:3000/"));
        assert!(!is_loopback("https://api.readyset.co"));
    }

    #[test]
    fn source_addresses_are_loopback_and_never_handed_out_twice() {
        let addresses: Vec<IpAddr> = (0..600).map(|_| next_source_address()).collect();
        let distinct: std::collections::HashSet<_> = addresses.iter().collect();
        assert_eq!(distinct.len(), addresses.len(), "a repeated address");
        for address in &addresses {
            assert!(address.is_loopback(), "{address}");
            assert_ne!(address.to_string(), "127.0.0.1", "the target's own address");
        }
    }
}
